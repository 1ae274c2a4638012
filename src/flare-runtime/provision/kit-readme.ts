import { KIT_FILES } from "./kit-config.ts";
import type { Participant } from "./project.ts";

/** README.txt of a kit: what it is, how to start it, what to keep secret. */
export function kitReadme(project: string, p: Participant): string {
  const what = {
    server: `the server of project '${project}'`,
    client: `site '${p.name}' of project '${project}'`,
    admin: `admin '${p.name}' (${p.type === "admin" ? p.role : ""}) of project '${project}'`,
  }[p.type];
  const start = {
    server: [
      `  fedbridge server --kit DIR`,
      ``,
      `It listens on port ${p.type === "server" ? p.port : ""} for sites and admins.`,
      `Edit ${KIT_FILES.authorization} to change who may do what.`,
    ],
    client: [
      `  fedbridge client --kit DIR`,
      ``,
      `It dials the server named in ${KIT_FILES.client}. Edit ${KIT_FILES.resources} to say what`,
      `this site offers to jobs, and ${KIT_FILES.privacy} to choose the filters its results pass.`,
    ],
    admin: [
      `  fedbridge admin --kit DIR sites`,
      ``,
      `Other commands: submit, list, status, wait, abort, download.`,
    ],
  }[p.type];
  return [
    `fedbridge startup kit for ${what}.`,
    ``,
    `Start it with (DIR is this folder):`,
    ``,
    ...start,
    ``,
    `${KIT_FILES.key} is this participant's private key: keep it secret, never copy it elsewhere.`,
    `${KIT_FILES.cert} is its certificate and ${KIT_FILES.rootCa} the project's root CA.`,
    ``,
  ].join("\n");
}
