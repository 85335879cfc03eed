// The resident's report page behind the public boards' QR codes (issue #17 §2).
export { createReportService, type ReportService } from './service';
export { reportRoutes } from './routes';
export { ReportLimit } from './limit';
