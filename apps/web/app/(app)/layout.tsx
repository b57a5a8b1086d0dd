import type { ReactNode } from 'react';
import { DEFAULT_PROJECT_NAME, type TProject } from '@modelyard/contracts';
import { currentProject, getMe, getProjects } from '@/lib/api.server';
import { ErrorAlert } from '@/components/alert';
import Link, { ProjectProvider } from '@/components/project';
import { LogoutButton } from './logout-button';
import { ProjectSwitcher } from './project-switcher';
import { SideNav } from './side-nav';

/**
 * Every signed-in page: the project switcher and identity in the header (the role shown is the one in the page's
 * project), navigation on the left. A 401 from /v1/me goes to /login. The page's project comes from its URL
 * (proxy.ts); every API call the page makes acts in it (lib/api.server.ts, lib/api.browser.ts).
 */
export default async function AppLayout({ children }: { children: ReactNode }) {
  const project = await currentProject();
  const [me, projects] = await Promise.all([getMe(), getProjects()]);
  const mine = projects.ok ? projects.data : [];
  let main: ReactNode;
  if (me.ok && (me.data.role !== null || me.data.platformAdmin)) main = children;
  else if (me.ok || (me.status === 404 && project !== DEFAULT_PROJECT_NAME)) {
    main = <NoRoleHere project={project} projects={mine} />;
  } else main = <ErrorAlert message={`Cannot load your account: ${me.message}`} />;
  return (
    <ProjectProvider project={project}>
      <div className="shell">
        <header className="topbar">
          <Link className="brand" href="/">
            <img src="/icon.svg" alt="" width={24} height={24} />
            <span>Modelyard</span>
          </Link>
          <div className="identity">
            {projects.ok ? <ProjectSwitcher projects={mine} /> : null}
            {me.ok ? (
              <>
                <span className="identity-name">{me.data.name}</span>
                {me.data.role ? (
                  <span className={`badge badge-role-${me.data.role}`} title={`Your role in ${project}`}>
                    {me.data.role}
                  </span>
                ) : null}
                <LogoutButton />
              </>
            ) : null}
          </div>
        </header>
        <SideNav role={me.ok ? me.data.role : null} platformAdmin={me.ok && me.data.platformAdmin} />
        <main className="content">{main}</main>
      </div>
    </ProjectProvider>
  );
}

/** A project the user has no role in (or that does not exist: the API does not say which). */
function NoRoleHere({ project, projects }: { project: string; projects: TProject[] }) {
  return (
    <section className="card" aria-labelledby="no-role-title">
      <h1 id="no-role-title">No access to project {project}</h1>
      <p>This project does not exist, or you have no role in it. Ask one of its admins to add you.</p>
      {projects.length ? (
        <>
          <p>Your projects:</p>
          <ul>
            {projects.map((p) => (
              <li key={p.id}>
                {/* A whole page load into that project (and Link would keep this one's prefix on `/`). */}
                <a href={p.name === DEFAULT_PROJECT_NAME ? '/' : `/projects/${p.name}`}>{p.name}</a>{' '}
                <span className="muted small">({p.role})</span>
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p className="muted">You have no role in any project yet.</p>
      )}
    </section>
  );
}
