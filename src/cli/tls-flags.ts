import { readFile } from "node:fs/promises";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";

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

/** Channel credentials from `--insecure` or `--root-certificates FILE`; one of them is required. */
export async function channelCredentials(flags: {
  insecure?: boolean;
  rootCertificates?: string;
}): Promise<ChannelCredentials> {
  if (flags.insecure && flags.rootCertificates) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      "--insecure and --root-certificates exclude each other",
    );
  }
  if (flags.insecure) return credentials.createInsecure();
  if (flags.rootCertificates)
    return credentials.createSsl(await readPem("--root-certificates", flags.rootCertificates));
  throw new FedbridgeError(Code.InvalidArgument, "choose --insecure or --root-certificates FILE");
}
