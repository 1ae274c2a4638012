"""pyfedavg: bench/apps/fedavg-10m in Python, for `npm run bench -- vs-flower`."""
