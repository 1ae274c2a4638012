"""pyquick: a numpy-only Flower app for interop tests."""
