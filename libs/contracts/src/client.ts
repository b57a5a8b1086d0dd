import { z } from 'zod';
import {
  ZApiKey,
  ZAuditPage,
  ZCreatedApiKey,
  ZGroup,
  ZMeResponse,
  ZSsoInfo,
  ZSsoSession,
  type TSsoExchangeRequest,
  ZServiceAccount,
  ZUser,
  ZUserList,
  type TAuditQuery,
  type TCreateApiKeyRequest,
  type TCreateGroupRequest,
  type TCreateServiceAccountRequest,
  type TCreateUserRequest,
  type TLoginRequest,
  type TMemberRef,
  type TUpdateServiceAccountRequest,
  type TUpdateUserRequest,
} from './auth.js';
import { ZErrorResponse, type ErrorCode } from './errors.js';
import {
  ZProject,
  ZProjectGrant,
  type TCreateProjectRequest,
  type TPutGrantRequest,
  type TUpdateProjectRequest,
} from './projects.js';
import { ZOverviewPage, type TOverviewQuery } from './overview.js';
import { ZExplainResponse, ZVersionImportance, type TExplainRequest } from './explain.js';
import {
  ZStreamDeployment,
  type TCreateStreamRequest,
  type TRewindStreamRequest,
  type TUpdateStreamRequest,
} from './streams.js';
import {
  ZApproval,
  ZHistoryEntry,
  ZModelPage,
  ZModelVersion,
  ZRegisteredModel,
  ZStageTransitionResult,
  type TCreateModelRequest,
  type TListModelsQuery,
  type TRegisterVersionSpec,
  type TSetAliasRequest,
  type TStageTransitionRequest,
  type TUpdateModelRequest,
} from './registry.js';
import { ZCreatedWebhook, ZWebhook, ZWebhookDelivery, type TCreateWebhookRequest } from './webhooks.js';
import {
  ZDeployment,
  ZDeploymentComparison,
  ZDeploymentRevision,
  ZDeploymentRevisions,
  type TDeploymentConfig,
} from './deployments.js';
import {
  ZAdhocDriftReport,
  ZAlert,
  ZAlertRules,
  ZSloReport,
  type TSloQuery,
  ZDriftHistogram,
  ZDriftProfile,
  ZDriftSeries,
  ZDriftWindowReport,
  type TAlertQuery,
  type TDriftSeriesQuery,
  type TPutAlertRulesRequest,
} from './drift.js';
import { ZMetricSeries, type TMetricSeriesQuery } from './metrics.js';
import {
  ZFeedbackResult,
  ZPerformanceReport,
  ZPilotComparison,
  type TFeedbackRequest,
  type TPerformanceQuery,
  type TPilotComparisonQuery,
} from './feedback.js';
import {
  ZJob,
  ZJobPage,
  ZSchedule,
  ZStoredPrediction,
  type TBatchJobSpec,
  type TJobQuery,
  type TScheduleSpec,
} from './jobs.js';

/** What the API said when it refused: code and message straight from its error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK' | 'BAD_RESPONSE',
    message: string,
    readonly errorId?: string,
    /** The error's `details` (e.g. VALIDATION_FAILED's `issues`: `{ path, message }` per bad field). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  baseUrl: string;
  apiKey?: string;
  /** Raw Cookie header, for server-side rendering on behalf of a logged-in browser. */
  cookie?: string;
  fetch?: typeof fetch;
  userAgent?: string;
  /** Act in this project: every request goes to `/projects/{project}/<path>` (the api's project-qualified URLs). */
  project?: string;
}

type Query = Record<string, string | number | undefined>;

/**
 * The typed REST client: every response is parsed with the shared schema, so a contract drift between
 * api and its callers fails loudly at the caller instead of rendering garbage.
 */
export class ModelyardClient {
  private readonly fetchImpl: typeof fetch;
  constructor(private readonly opts: ClientOptions) {
    this.fetchImpl = opts.fetch ?? fetch;
  }

  async request<T extends z.ZodType>(
    method: string,
    path: string,
    schema: T | null,
    body?: unknown,
    query?: Query,
  ): Promise<{ data: z.output<T>; headers: Headers }> {
    const route = path.replace(/^\//, '');
    const scoped = this.opts.project ? `projects/${encodeURIComponent(this.opts.project)}/${route}` : route;
    const url = new URL(scoped, this.opts.baseUrl.replace(/\/?$/, '/'));
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    if (this.opts.cookie) headers.cookie = this.opts.cookie;
    if (this.opts.userAgent) headers['user-agent'] = this.opts.userAgent;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'NETWORK', `cannot reach ${url.origin}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        /* judged below */
      }
    }
    if (!res.ok) {
      const err = ZErrorResponse.safeParse(json);
      if (err.success)
        throw new ApiError(
          res.status,
          err.data.error.code,
          err.data.error.message,
          err.data.error.errorId,
          err.data.error.details,
        );
      throw new ApiError(res.status, 'BAD_RESPONSE', `HTTP ${res.status} from ${method} ${url.pathname}`);
    }
    if (schema === null) return { data: undefined as z.output<T>, headers: res.headers };
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ApiError(
        res.status,
        'BAD_RESPONSE',
        `unexpected response from ${method} ${url.pathname}: ${parsed.error.message}`,
      );
    }
    return { data: parsed.data, headers: res.headers };
  }

  private async get<T extends z.ZodType>(path: string, schema: T, query?: Query) {
    return (await this.request('GET', path, schema, undefined, query)).data;
  }
  private async send<T extends z.ZodType>(method: string, path: string, schema: T | null, body?: unknown) {
    return (await this.request(method, path, schema, body)).data;
  }

  /** Returns the session cookie the API set (the caller decides where to keep it). */
  async login(body: TLoginRequest): Promise<{ me: z.output<typeof ZMeResponse>; setCookie: string | null }> {
    const r = await this.request('POST', '/v1/auth/login', ZMeResponse, body);
    return { me: r.data, setCookie: r.headers.get('set-cookie') };
  }
  logout() {
    return this.send('POST', '/v1/auth/logout', null);
  }
  me() {
    return this.get('/v1/me', ZMeResponse);
  }

  /** Whether single sign-on is configured, and where the CLI's device flow runs (public). */
  ssoInfo() {
    return this.get('/v1/auth/sso', ZSsoInfo);
  }

  /** Trades an ID token from the IdP's device flow for a session token (the CLI's `login --sso`). */
  exchangeSsoToken(body: TSsoExchangeRequest) {
    return this.send('POST', '/v1/auth/sso/token', ZSsoSession, body);
  }

  listUsers(query: { limit?: number; cursor?: string } = {}) {
    return this.get('/v1/users', ZUserList, query);
  }
  createUser(body: TCreateUserRequest) {
    return this.send('POST', '/v1/users', ZUser, body);
  }
  updateUser(id: string, body: TUpdateUserRequest) {
    return this.send('PATCH', `/v1/users/${enc(id)}`, ZUser, body);
  }

  listGroups() {
    return this.get('/v1/groups', z.array(ZGroup));
  }
  createGroup(body: TCreateGroupRequest) {
    return this.send('POST', '/v1/groups', ZGroup, body);
  }
  deleteGroup(id: string) {
    return this.send('DELETE', `/v1/groups/${enc(id)}`, null);
  }
  addGroupMember(id: string, member: TMemberRef) {
    return this.send('POST', `/v1/groups/${enc(id)}/members`, ZGroup, member);
  }
  removeGroupMember(id: string, member: TMemberRef) {
    return this.send('DELETE', `/v1/groups/${enc(id)}/members/${member.kind}/${enc(member.id)}`, ZGroup);
  }

  /** The projects the caller has a role in (a platform admin: every one), with that role. */
  listProjects() {
    return this.get('/v1/projects', z.array(ZProject));
  }
  createProject(body: Partial<TCreateProjectRequest> & { name: string }) {
    return this.send('POST', '/v1/projects', ZProject, body);
  }
  /** The project this client acts in (`project` in its options, else `default`), and the same below. */
  getProject() {
    return this.get('/v1/project', ZProject);
  }
  updateProject(body: TUpdateProjectRequest) {
    return this.send('PATCH', '/v1/project', ZProject, body);
  }
  deleteProject() {
    return this.send('DELETE', '/v1/project', null);
  }
  listProjectGrants() {
    return this.get('/v1/project/grants', z.array(ZProjectGrant));
  }
  putProjectGrant(body: TPutGrantRequest) {
    return this.send('PUT', '/v1/project/grants', ZProjectGrant, body);
  }
  removeProjectGrant(kind: 'user' | 'group', id: string) {
    return this.send('DELETE', `/v1/project/grants/${kind}/${enc(id)}`, null);
  }

  listServiceAccounts() {
    return this.get('/v1/service-accounts', z.array(ZServiceAccount));
  }
  createServiceAccount(body: TCreateServiceAccountRequest) {
    return this.send('POST', '/v1/service-accounts', ZServiceAccount, body);
  }
  updateServiceAccount(id: string, body: TUpdateServiceAccountRequest) {
    return this.send('PATCH', `/v1/service-accounts/${enc(id)}`, ZServiceAccount, body);
  }

  listApiKeys() {
    return this.get('/v1/api-keys', z.array(ZApiKey));
  }
  createApiKey(body: TCreateApiKeyRequest) {
    return this.send('POST', '/v1/api-keys', ZCreatedApiKey, body);
  }
  revokeApiKey(id: string) {
    return this.send('POST', `/v1/api-keys/${enc(id)}/revoke`, ZApiKey);
  }

  listAudit(query: Partial<TAuditQuery> = {}) {
    return this.get('/v1/audit', ZAuditPage, query as Query);
  }

  listModels(query: Partial<TListModelsQuery> = {}) {
    return this.get('/v1/models', ZModelPage, query as Query);
  }
  /** Every model with serving, traffic, SLO, drift and alerts (the dashboard's overview and models list). */
  overview(query: TOverviewQuery = {}) {
    return this.get('/v1/overview', ZOverviewPage, query as Query);
  }
  getModel(name: string) {
    return this.get(`/v1/models/${enc(name)}`, ZRegisteredModel);
  }
  createModel(body: Partial<TCreateModelRequest> & { name: string }) {
    return this.send('POST', '/v1/models', ZRegisteredModel, body);
  }
  updateModel(name: string, body: TUpdateModelRequest) {
    return this.send('PATCH', `/v1/models/${enc(name)}`, ZRegisteredModel, body);
  }
  listVersions(name: string) {
    return this.get(`/v1/models/${enc(name)}/versions`, z.array(ZModelVersion));
  }
  getVersion(name: string, version: number) {
    return this.get(`/v1/models/${enc(name)}/versions/${version}`, ZModelVersion);
  }
  /** Registers an artifact already in storage; uploads go through multipart (see the CLI and dashboard). */
  registerFromUri(name: string, spec: Partial<TRegisterVersionSpec> & { artifactUri: string }) {
    return this.send('POST', `/v1/models/${enc(name)}/versions`, ZModelVersion, spec);
  }
  transitionStage(
    name: string,
    version: number,
    body: Partial<TStageTransitionRequest> & { stage: TStageTransitionRequest['stage'] },
  ) {
    return this.send('POST', `/v1/models/${enc(name)}/versions/${version}/stage`, ZStageTransitionResult, body);
  }
  setAlias(name: string, alias: string, body: Partial<TSetAliasRequest> & { version: number }) {
    return this.send('PUT', `/v1/models/${enc(name)}/aliases/${enc(alias)}`, ZRegisteredModel, body);
  }
  deleteAlias(name: string, alias: string, comment = '') {
    return this.request('DELETE', `/v1/models/${enc(name)}/aliases/${enc(alias)}`, ZRegisteredModel, undefined, {
      comment,
    }).then((r) => r.data);
  }
  history(name: string) {
    return this.get(`/v1/models/${enc(name)}/history`, z.array(ZHistoryEntry));
  }
  listApprovals(query: { status?: string; model?: string } = {}) {
    return this.get('/v1/approvals', z.array(ZApproval), query);
  }
  approve(id: string, comment = '') {
    return this.send('POST', `/v1/approvals/${enc(id)}/approve`, ZApproval, { comment });
  }
  reject(id: string, comment = '') {
    return this.send('POST', `/v1/approvals/${enc(id)}/reject`, ZApproval, { comment });
  }

  getDeployment(name: string) {
    return this.get(`/v1/models/${enc(name)}/deployment`, ZDeployment);
  }
  putDeployment(name: string, config: Partial<TDeploymentConfig>, comment = '') {
    return this.send('PUT', `/v1/models/${enc(name)}/deployment`, ZDeploymentRevision, { config, comment });
  }
  deploymentRevisions(name: string) {
    return this.get(`/v1/models/${enc(name)}/deployment/revisions`, ZDeploymentRevisions);
  }
  rollbackDeployment(name: string, body: { revision?: number; comment?: string } = {}) {
    return this.send('POST', `/v1/models/${enc(name)}/deployment/rollback`, ZDeploymentRevision, body);
  }
  /** A pilot or silent version next to production, over the last hour unless from/to say otherwise. */
  deploymentComparison(name: string, version: number, range: { from?: string; to?: string } = {}) {
    return this.get(`/v1/models/${enc(name)}/deployment/comparison`, ZDeploymentComparison, { version, ...range });
  }

  /** A batch job on a file already in storage (`inputUri`); uploads go through multipart (CLI and dashboard). */
  createBatchJob(spec: TBatchJobSpec & { inputUri: string }) {
    return this.send('POST', '/v1/jobs', ZJob, spec);
  }
  listJobs(query: TJobQuery = {}) {
    return this.get('/v1/jobs', ZJobPage, query as Query);
  }
  getJob(id: string) {
    return this.get(`/v1/jobs/${enc(id)}`, ZJob);
  }
  cancelJob(id: string) {
    return this.send('POST', `/v1/jobs/${enc(id)}/cancel`, ZJob);
  }
  retryJob(id: string) {
    return this.send('POST', `/v1/jobs/${enc(id)}/retry`, ZJob);
  }
  /** A finished job, with the files the platform stored for it (409 while it is queued or running). */
  deleteJob(id: string) {
    return this.send('DELETE', `/v1/jobs/${enc(id)}`, null);
  }
  listSchedules() {
    return this.get('/v1/schedules', z.array(ZSchedule));
  }
  createSchedule(spec: TScheduleSpec) {
    return this.send('POST', '/v1/schedules', ZSchedule, spec);
  }
  pauseSchedule(id: string) {
    return this.send('POST', `/v1/schedules/${enc(id)}/pause`, ZSchedule);
  }
  resumeSchedule(id: string) {
    return this.send('POST', `/v1/schedules/${enc(id)}/resume`, ZSchedule);
  }
  /** Runs the schedule once now, besides its cron ticks (202: the files it finds become jobs in the background). */
  runSchedule(id: string) {
    return this.send('POST', `/v1/schedules/${enc(id)}/run`, ZSchedule);
  }
  deleteSchedule(id: string) {
    return this.send('DELETE', `/v1/schedules/${enc(id)}`, null);
  }
  /** Per-feature contributions (Shapley values) of one version's predictions for these rows (issue 18). */
  explainVersion(name: string, version: number, body: TExplainRequest) {
    return this.send('POST', `/v1/models/${enc(name)}/versions/${version}/explain`, ZExplainResponse, body);
  }

  versionImportance(name: string, version: number, source: 'reference' | 'log' = 'reference') {
    return this.send(
      'GET',
      `/v1/models/${enc(name)}/versions/${version}/importance?source=${source}`,
      ZVersionImportance,
    );
  }
  /** Every stream deployment (or one model's), each with its lag and pending records. */
  listStreams(model?: string) {
    return model
      ? this.get(`/v1/models/${enc(model)}/streams`, z.array(ZStreamDeployment))
      : this.get('/v1/streams', z.array(ZStreamDeployment));
  }
  getStream(model: string, name: string) {
    return this.get(`/v1/models/${enc(model)}/streams/${enc(name)}`, ZStreamDeployment);
  }
  createStream(model: string, spec: TCreateStreamRequest) {
    return this.send('POST', `/v1/models/${enc(model)}/streams`, ZStreamDeployment, spec);
  }
  updateStream(model: string, name: string, patch: TUpdateStreamRequest) {
    return this.send('PATCH', `/v1/models/${enc(model)}/streams/${enc(name)}`, ZStreamDeployment, patch);
  }
  pauseStream(model: string, name: string) {
    return this.send('POST', `/v1/models/${enc(model)}/streams/${enc(name)}/pause`, ZStreamDeployment);
  }
  resumeStream(model: string, name: string) {
    return this.send('POST', `/v1/models/${enc(model)}/streams/${enc(name)}/resume`, ZStreamDeployment);
  }
  rewindStream(model: string, name: string, to: TRewindStreamRequest) {
    return this.send('POST', `/v1/models/${enc(model)}/streams/${enc(name)}/rewind`, ZStreamDeployment, to);
  }
  deleteStream(model: string, name: string) {
    return this.send('DELETE', `/v1/models/${enc(model)}/streams/${enc(name)}`, null);
  }
  storedPrediction(name: string, entityId: string, features: Record<string, string | number> = {}) {
    return this.get(`/v1/models/${enc(name)}/predictions/${enc(entityId)}`, ZStoredPrediction, features);
  }

  driftSeries(name: string, query: TDriftSeriesQuery = {}) {
    return this.get(`/v1/models/${enc(name)}/drift`, ZDriftSeries, query as Query);
  }
  driftLatest(name: string, version?: number) {
    return this.get(`/v1/models/${enc(name)}/drift/latest`, ZDriftWindowReport, version ? { version } : {});
  }
  driftHistogram(name: string, query: { column: string; version?: number; start?: string }) {
    return this.get(`/v1/models/${enc(name)}/drift/histogram`, ZDriftHistogram, query as Query);
  }
  driftProfile(name: string, version: number) {
    return this.get(`/v1/models/${enc(name)}/versions/${version}/drift-profile`, ZDriftProfile);
  }
  rebuildDriftProfile(name: string, version: number) {
    return this.send('POST', `/v1/models/${enc(name)}/versions/${version}/drift-profile`, null);
  }
  createDriftReport(name: string, version: number, datasetUri: string) {
    return this.send('POST', `/v1/models/${enc(name)}/versions/${version}/drift-reports`, ZAdhocDriftReport, {
      datasetUri,
    });
  }
  getDriftReport(name: string, version: number, id: string) {
    return this.get(`/v1/models/${enc(name)}/versions/${version}/drift-reports/${enc(id)}`, ZAdhocDriftReport);
  }
  alertRules(name: string) {
    return this.get(`/v1/models/${enc(name)}/alert-rules`, ZAlertRules);
  }
  putAlertRules(name: string, body: TPutAlertRulesRequest) {
    return this.send('PUT', `/v1/models/${enc(name)}/alert-rules`, ZAlertRules, body);
  }
  slo(name: string, query: TSloQuery = {}) {
    return this.get(`/v1/models/${enc(name)}/slo`, ZSloReport, query as Query);
  }
  listAlerts(query: TAlertQuery = {}) {
    return this.get('/v1/alerts', z.array(ZAlert), query as Query);
  }

  performance(name: string, query: TPerformanceQuery = {}) {
    return this.get(`/v1/models/${enc(name)}/performance`, ZPerformanceReport, query as Query);
  }
  comparePilot(name: string, query: TPilotComparisonQuery) {
    return this.get(`/v1/models/${enc(name)}/performance/compare`, ZPilotComparison, query as Query);
  }
  postFeedback(name: string, body: TFeedbackRequest) {
    return this.send('POST', `/v1/models/${enc(name)}/feedback`, ZFeedbackResult, body);
  }

  metricSeries(name: string, query: TMetricSeriesQuery = {}) {
    return this.get(`/v1/models/${enc(name)}/metrics`, ZMetricSeries, query as Query);
  }

  listWebhooks() {
    return this.get('/v1/webhooks', z.array(ZWebhook));
  }
  createWebhook(body: Partial<TCreateWebhookRequest> & Pick<TCreateWebhookRequest, 'url' | 'events'>) {
    return this.send('POST', '/v1/webhooks', ZCreatedWebhook, body);
  }
  deleteWebhook(id: string) {
    return this.send('DELETE', `/v1/webhooks/${enc(id)}`, null);
  }
  webhookDeliveries(id: string) {
    return this.get(`/v1/webhooks/${enc(id)}/deliveries`, z.array(ZWebhookDelivery));
  }
}

function enc(s: string) {
  return encodeURIComponent(s);
}
