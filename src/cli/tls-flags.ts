import { readFile } from "node:fs/promises";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { ChannelSecurity } from "../core/wire/grpc-http2-client.ts";

/** Reads a PEM file named by a flag, with an error that names the flag and the file. */
export async function readPem(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${flag}: cannot read ${path} (${(error as Error).message})`,
    );
  }
}

/** How to reach a server, from `--insecure` or `--root-certificates FILE`; one is required. */
export async function channelSecurity(flags: {
  insecure?: boolean;
  rootCertificates?: string;
}): Promise<ChannelSecurity> {
  if (flags.insecure && flags.rootCertificates) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      "--insecure and --root-certificates exclude each other",
    );
  }
  if (flags.insecure) return "insecure";
  if (flags.rootCertificates)
    return { rootCertificates: await readPem("--root-certificates", flags.rootCertificates) };
  throw new FedbridgeError(Code.InvalidArgument, "choose --insecure or --root-certificates FILE");
}

/** grpc-js channel credentials from the same flags (the APIs still called through grpc-js). */
export async function channelCredentials(flags: {
  insecure?: boolean;
  rootCertificates?: string;
}): Promise<ChannelCredentials> {
  const security = await channelSecurity(flags);
  return security === "insecure"
    ? credentials.createInsecure()
    : credentials.createSsl(security.rootCertificates);
}
