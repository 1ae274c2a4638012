/** A participant of a generated project. */
export interface LocalParticipant {
  name: string;
  org: string;
  /** Admins only. */
  role?: string;
}

/**
 * The project.yml of a federation on this machine (server on 127.0.0.1:`port`), for demos,
 * benchmarks and tests: `provisionProject` turns it into kits.
 */
export function localProjectYml(
  project: string,
  port: number,
  sites: readonly LocalParticipant[],
  admins: readonly LocalParticipant[],
): string {
  return [
    `name: ${project}`,
    "participants:",
    `  - { name: server1, type: server, org: org-a, host: 127.0.0.1, port: ${port} }`,
    ...sites.map((s) => `  - { name: ${s.name}, type: client, org: ${s.org} }`),
    ...admins.map(
      (a) => `  - { name: ${a.name}, type: admin, org: ${a.org}, role: ${a.role ?? "member"} }`,
    ),
    "",
  ].join("\n");
}
