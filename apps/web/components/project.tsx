'use client';
import NextLink from 'next/link';
import { createContext, useContext, type ComponentProps, type ReactNode } from 'react';
// The path helpers alone: the package's index brings every schema and zod with it, and this module is on every page.
import {
  DEFAULT_PROJECT_NAME,
  apiHrefInProject,
  pageInProject,
  projectOfPage,
} from '@modelyard/contracts/dashboard-paths';

const ProjectContext = createContext<string>(DEFAULT_PROJECT_NAME);

/** The project of the page being shown, as the layout read it from the URL (proxy.ts), for the links below. */
export function ProjectProvider({ project, children }: { project: string; children: ReactNode }) {
  return <ProjectContext.Provider value={project}>{children}</ProjectContext.Provider>;
}

/** The project the page is in (`default` for a bare URL). */
export function useProject(): string {
  return useContext(ProjectContext);
}

/**
 * next/link, kept inside the page's project: pages write today's paths (`/models/iris`) and the link goes to
 * `/projects/{p}/models/iris` when the page is in p. A link into another project is a plain `<a>`: the whole
 * shell (role, navigation, switcher) belongs to the project, so it loads afresh rather than by a client-side
 * navigation that would keep the old project's layout.
 */
export default function Link({ href, ...rest }: ComponentProps<typeof NextLink> & { href: string }) {
  const project = useProject();
  const target = pageInProject(project, href);
  if (target.startsWith('/projects/') && projectOfPage(target).project !== project) {
    const { className, children, title, id } = rest;
    return (
      <a href={target} className={className} title={title} id={id} aria-label={rest['aria-label']}>
        {children as ReactNode}
      </a>
    );
  }
  return <NextLink href={target} {...rest} />;
}

/** A plain link to an API path in the page's project (downloads: the browser streams the file from /api). */
export function ApiLink({ path, ...rest }: Omit<ComponentProps<'a'>, 'href'> & { path: string }) {
  return <a href={apiHrefInProject(useProject(), path)} {...rest} />;
}
