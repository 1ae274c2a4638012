export type {
  DashboardApi,
  DashboardJob,
  DashboardScalar,
  DashboardSite,
} from "./dashboard-api.ts";
export { createDashboardApi } from "./dashboard-api.ts";
export type { Dashboard, DashboardOptions } from "./dashboard-server.ts";
export { startDashboard } from "./dashboard-server.ts";
