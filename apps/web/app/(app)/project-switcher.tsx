'use client';
import type { TProject } from '@modelyard/contracts';
import { switchProjectPath } from '@modelyard/contracts/dashboard-paths';
import { useProject } from '@/components/project';

/**
 * The projects the signed-in user can act in. Choosing one loads the same section of the dashboard in it
 * (`/projects/{p}/...`): a whole page load, since the shell (role, navigation) belongs to the project too.
 */
export function ProjectSwitcher({ projects }: { projects: Pick<TProject, 'name' | 'role'>[] }) {
  const current = useProject();
  const names = projects.map((p) => p.name);
  // A project named by the URL but not in the list (none such, or no role there) still shows as chosen.
  if (!names.includes(current)) names.unshift(current);
  return (
    <div className="project-switcher">
      {/* Not wrapped in the label: the label's text would then include every option's. */}
      <label htmlFor="project-switcher" className="project-switcher-label">
        Project
      </label>
      <select
        id="project-switcher"
        name="project"
        value={current}
        onChange={(e) => window.location.assign(switchProjectPath(window.location.pathname, e.target.value))}
      >
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </div>
  );
}
