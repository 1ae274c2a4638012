import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  loadCertificateAuthority,
} from "../../core/security/certificates.ts";
import { CA_FILES, CA_FOLDER, type ParticipantType } from "./kit-config.ts";
import { loadProject } from "./project.ts";
import { buildStartupKits, type StartupKit } from "./startup-kits.ts";

export interface ProvisionOptions {
  /**
   * Issue the kits of a project folder that already exists again, keeping its CA (so kits
   * handed out before still chain to it) and any other file in the folder. Default: false,
   * which refuses an existing folder.
   */
  force?: boolean;
}

/** One kit written. */
export interface ProvisionedKit {
  name: string;
  type: ParticipantType;
  /** The kit's folder, absolute. */
  kit: string;
}

export interface ProvisionResult {
  project: string;
  /** `WORKSPACE/<project>`, absolute. */
  dir: string;
  kits: ProvisionedKit[];
  /** Whether the CA already in the project folder was kept (`force`). */
  reusedCa: boolean;
}

/**
 * Reads project.yml and writes one startup kit per participant to `WORKSPACE/<project>/<name>/`,
 * with the project's CA key in `WORKSPACE/<project>/.ca/`, never inside a kit. A new project is
 * written to a hidden folder first and renamed into place, so a failure leaves nothing behind.
 *
 * @example
 * const { kits } = await provisionProject("project.yml", "workspace");
 */
export async function provisionProject(
  projectYmlPath: string,
  workspaceDir: string,
  options: ProvisionOptions = {},
): Promise<ProvisionResult> {
  const project = await loadProject(projectYmlPath);
  const workspace = resolve(workspaceDir);
  const dir = join(workspace, project.name);
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (exists && !options.force) {
    throw new FedbridgeError(
      Code.AlreadyExists,
      `${dir} already exists (use --force to issue its kits again with the same CA)`,
    );
  }
  const existingCa = exists ? await readCa(join(dir, CA_FOLDER)) : undefined;
  const ca = existingCa ?? (await createCertificateAuthority(`${project.name} root CA`));
  const kits = await buildStartupKits(project, ca);

  if (exists) {
    await writeProject(dir, existingCa ? undefined : ca, kits);
  } else {
    await mkdir(workspace, { recursive: true });
    const staging = join(workspace, `.${project.name}.partial-${randomBytes(4).toString("hex")}`);
    try {
      await writeProject(staging, ca, kits);
      await rename(staging, dir);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }
  return {
    project: project.name,
    dir,
    kits: kits.map((k) => ({ name: k.name, type: k.type, kit: join(dir, k.name) })),
    reusedCa: existingCa !== undefined,
  };
}

/** The CA kept in `.ca/`, or undefined when there is none (an error when it is damaged). */
async function readCa(caDir: string): Promise<CertificateAuthority | undefined> {
  const read = (name: string) => readFile(join(caDir, name), "utf8").catch(() => undefined);
  const [certPem, keyPem] = await Promise.all([read(CA_FILES.cert), read(CA_FILES.key)]);
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined || keyPem === undefined) {
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `${caDir} holds only one of ${CA_FILES.cert} and ${CA_FILES.key}: restore it, or remove the project folder to start with a new CA`,
    );
  }
  try {
    return await loadCertificateAuthority(certPem, keyPem);
  } catch (error) {
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `${caDir}: ${FedbridgeError.from(error).message}`,
      { cause: error },
    );
  }
}

/** Writes the kits (and the CA, when given) under `dir`, each file whole (temp file + rename). */
async function writeProject(
  dir: string,
  ca: CertificateAuthority | undefined,
  kits: StartupKit[],
): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (ca) {
    const caDir = join(dir, CA_FOLDER);
    await mkdir(caDir, { recursive: true, mode: 0o700 });
    await writeWhole(join(caDir, CA_FILES.cert), ca.certPem, 0o644);
    await writeWhole(join(caDir, CA_FILES.key), ca.keyPem, 0o600);
  }
  for (const kit of kits) {
    const kitDir = join(dir, kit.name);
    await mkdir(kitDir, { recursive: true });
    for (const file of kit.files) {
      await writeWhole(join(kitDir, file.name), file.content, file.secret ? 0o600 : 0o644);
    }
  }
}

async function writeWhole(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await rm(temp, { force: true });
  const text = content.endsWith("\n") ? content : `${content}\n`;
  await writeFile(temp, text, { mode, flag: "wx" });
  await rename(temp, path);
}
