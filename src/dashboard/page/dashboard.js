// The dashboard page: polls the dashboard's JSON API every second and draws sites, jobs and
// the selected job's per-round metrics (one uPlot per tag, a line per site and "server").
// Plain browser JavaScript, served as is: no build step. uPlot is the global from its IIFE build.
/* global uPlot */

const POLL_MS = 1000;
const PLOT_HEIGHT = 220;
const ROUND_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
const COLORS = ["#1d2430", "#2b6cb0", "#dd6b20", "#2f855a", "#b83280", "#805ad5", "#c53030"];

const state = {
  /** The job the user picked (kept in the URL as #job=ID); otherwise the newest running or last. */
  picked: new URLSearchParams(location.hash.slice(1)).get("job"),
  shownJob: null,
  /** tag → { figure, plot, key } */
  plots: new Map(),
};

const $ = (selector) => document.querySelector(selector);

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "title") node.title = value;
    else if (key === "onclick") node.addEventListener("click", value);
  }
  for (const child of children)
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function getJson(path) {
  let response;
  try {
    response = await fetch(path, { cache: "no-store" });
  } catch {
    throw new Error("the dashboard itself is unreachable (is `fedbridge dashboard` running?)");
  }
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || `${path}: HTTP ${response.status}`);
  return body;
}

function setStatus(error) {
  const status = $("#status");
  status.hidden = error === null;
  // What is shown is the last known state: dim it while it cannot be refreshed.
  document.body.classList.toggle("stale", error !== null);
  status.textContent = error === null ? "" : `${error} — retrying every second…`;
}

function ago(iso) {
  if (!iso) return "never connected";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return new Date(iso).toLocaleString();
}

function renderSites(sites) {
  const rows = sites.map((site) =>
    element(
      "tr",
      {
        class: site.online ? "online" : "offline",
        dataset: { site: site.name, online: String(site.online) },
      },
      element("td", {}, site.name),
      element("td", {}, site.org),
      element("td", {}, element("span", { class: "dot" }), site.online ? "online" : "offline"),
      element("td", { title: site.lastHeartbeat ?? "" }, ago(site.lastHeartbeat)),
    ),
  );
  $("#sites tbody").replaceChildren(...rows);
}

function chooseJob(jobs) {
  return (
    jobs.find((job) => job.id === state.picked) ??
    jobs.find((job) => job.status === "RUNNING") ??
    jobs[0] ??
    null
  );
}

function renderJobs(jobs, selected) {
  const rows = jobs.map((job) =>
    element(
      "tr",
      {
        class: job.id === selected?.id ? "selected" : "",
        dataset: { job: job.id, status: job.status },
        onclick: () => {
          state.picked = job.id;
          location.hash = `job=${encodeURIComponent(job.id)}`;
          void refresh();
        },
      },
      element("td", { class: "mono", title: job.id }, job.id.slice(0, 8)),
      element("td", {}, job.name),
      element("td", { class: `status-${job.status}` }, job.status),
      element("td", {}, job.round),
      element("td", { title: job.submittedAt }, new Date(job.submittedAt).toLocaleTimeString()),
    ),
  );
  $("#jobs tbody").replaceChildren(...rows);
  $("#no-jobs").hidden = jobs.length > 0;
}

/** The sites in scalars, "server" first, then by name. */
function sitesOf(scalars) {
  return [...new Set(scalars.map((s) => s.site))].sort((a, b) =>
    a === "server" ? -1 : b === "server" ? 1 : a.localeCompare(b),
  );
}

/** A tag's points as uPlot data: the rounds, then one array per site (null where it has none). */
function seriesOf(scalars) {
  const steps = [...new Set(scalars.map((s) => s.step))].sort((a, b) => a - b);
  const sites = sitesOf(scalars);
  const index = new Map(steps.map((step, i) => [step, i]));
  const data = [steps, ...sites.map(() => steps.map(() => null))];
  for (const s of scalars) data[sites.indexOf(s.site) + 1][index.get(s.step)] = s.value;
  return { sites, data };
}

/** Each site keeps one color across a job's plots: "server" the first, sites by name. */
function colorOf(site, allSites) {
  return COLORS[allSites.indexOf(site) % COLORS.length] ?? COLORS[0];
}

function createPlot(figure, sites, data, allSites) {
  return new uPlot(
    {
      width: Math.max(300, figure.clientWidth),
      height: PLOT_HEIGHT,
      scales: { x: { time: false } },
      // Rounds are whole numbers: ticks at 1, 2, 5, 10... apart, never 0.2.
      axes: [{ label: "round", incrs: ROUND_TICKS }, { size: 60 }],
      series: [
        { label: "round" },
        ...sites.map((site) => ({
          label: site,
          stroke: colorOf(site, allSites),
          width: site === "server" ? 2.5 : 1.5,
          dash: site === "server" ? undefined : [4, 3],
          spanGaps: true,
          points: { show: true, size: 5 },
        })),
      ],
    },
    data,
    figure.querySelector(".plot-body"),
  );
}

function renderMetrics(job, scalars) {
  if (state.shownJob !== job.id) {
    for (const { plot } of state.plots.values()) plot.destroy();
    state.plots.clear();
    $("#plots").replaceChildren();
    state.shownJob = job.id;
  }
  $("#job-section").hidden = false;
  $("#job-title").textContent = `${job.name} — round ${job.round}`;
  $("#job-details").textContent = [
    `job ${job.id}`,
    job.status,
    `by ${job.submitter}`,
    job.reason ? `(${job.reason})` : "",
  ]
    .filter(Boolean)
    .join(" · ");
  $("#no-metrics").hidden = scalars.length > 0;

  const allSites = sitesOf(scalars);
  const byTag = new Map();
  for (const s of scalars) {
    if (!byTag.has(s.tag)) byTag.set(s.tag, []);
    byTag.get(s.tag).push(s);
  }
  for (const [tag, entry] of state.plots) {
    if (!byTag.has(tag)) {
      entry.plot.destroy();
      entry.figure.remove();
      state.plots.delete(tag);
    }
  }
  for (const tag of [...byTag.keys()].sort()) {
    const points = byTag.get(tag);
    const { sites, data } = seriesOf(points);
    const key = `${sites.join("\n")}/${allSites.join("\n")}`;
    let entry = state.plots.get(tag);
    if (entry && entry.key !== key) {
      entry.plot.destroy();
      entry.figure.querySelector(".plot-body").replaceChildren();
      entry.plot = createPlot(entry.figure, sites, data, allSites);
      entry.key = key;
    } else if (entry) {
      entry.plot.setData(data);
    } else {
      const figure = element(
        "figure",
        { class: "plot", dataset: { tag } },
        element("figcaption", {}, tag),
        element("div", { class: "plot-body" }),
      );
      $("#plots").append(figure);
      entry = { figure, key, plot: createPlot(figure, sites, data, allSites) };
      state.plots.set(tag, entry);
    }
    entry.figure.dataset.points = String(points.length);
    entry.figure.dataset.rounds = String(data[0].length);
  }
  // Reorder figures to match the sorted tags (new tags are appended first).
  for (const tag of [...state.plots.keys()].sort()) $("#plots").append(state.plots.get(tag).figure);
}

let running = false;

async function refresh() {
  if (running) return;
  running = true;
  try {
    const [{ sites }, { jobs }] = await Promise.all([getJson("/api/sites"), getJson("/api/jobs")]);
    renderSites(sites);
    const job = chooseJob(jobs);
    renderJobs(jobs, job);
    if (job) {
      const { scalars } = await getJson(`/api/jobs/${encodeURIComponent(job.id)}/metrics`);
      renderMetrics(job, scalars);
    } else {
      $("#job-section").hidden = true;
    }
    setStatus(null);
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    setStatus(error instanceof Error ? error.message : String(error));
  } finally {
    running = false;
  }
}

async function start() {
  try {
    const info = await getJson("/api/info");
    $("#project").textContent = `project ${info.project} · ${info.admin} · server ${info.server}`;
  } catch {}
  window.addEventListener("resize", () => {
    for (const { figure, plot } of state.plots.values())
      plot.setSize({ width: Math.max(300, figure.clientWidth), height: PLOT_HEIGHT });
  });
  for (;;) {
    await refresh();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

void start();
