// Here rather than beside libs/contracts/src/dashboard-paths.ts: contracts stay free of Node imports (node:test).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiHrefInProject, pageInProject, projectOfPage, switchProjectPath } from '@modelyard/contracts';

describe('dashboard paths', () => {
  it('reads the project a page is in from its path, and the default project from a bare one', () => {
    assert.deepEqual(projectOfPage('/projects/team-a/models/iris'), { project: 'team-a', page: '/models/iris' });
    assert.deepEqual(projectOfPage('/projects/team-a'), { project: 'team-a', page: '/' });
    assert.deepEqual(projectOfPage('/projects/team-a?sort=name'), { project: 'team-a', page: '/?sort=name' });
    assert.deepEqual(projectOfPage('/models'), { project: 'default', page: '/models' });
    assert.deepEqual(projectOfPage('/projects'), { project: 'default', page: '/projects' });
  });

  it('does not take a name the API would refuse as a project (capitals, dots, escapes)', () => {
    for (const path of ['/projects/Team/models', '/projects/../models', '/projects/%2e%2e/x', '/projects/-a/x']) {
      assert.equal(projectOfPage(path).project, 'default', path);
    }
    assert.equal(projectOfPage('/projects/team-ab/x').project, 'team-ab');
    assert.equal(projectOfPage('/projects/team-abc').page, '/');
  });

  it('puts dashboard links inside the project and leaves the rest alone', () => {
    assert.equal(pageInProject('team-a', '/models'), '/projects/team-a/models');
    assert.equal(pageInProject('team-a', '/'), '/projects/team-a');
    assert.equal(pageInProject('team-a', '/?sort=name'), '/projects/team-a?sort=name');
    assert.equal(pageInProject('team-a', '/models/iris?version=2#v'), '/projects/team-a/models/iris?version=2#v');
    assert.equal(pageInProject('default', '/models'), '/models');
    for (const href of [
      '/projects/team-b/models',
      '/login?next=%2F',
      '/api/v1/jobs',
      '#register',
      '//evil',
      'https://x',
    ]) {
      assert.equal(pageInProject('team-a', href), href, href);
    }
  });

  it('switches project to the same section of the dashboard', () => {
    assert.equal(switchProjectPath('/projects/team-a/models/iris/drift?range=7d', 'team-b'), '/projects/team-b/models');
    assert.equal(switchProjectPath('/models/iris', 'team-b'), '/projects/team-b/models');
    assert.equal(switchProjectPath('/projects/team-a/jobs/123', 'default'), '/jobs');
    assert.equal(switchProjectPath('/projects/team-a', 'team-b'), '/projects/team-b');
    assert.equal(switchProjectPath('/', 'team-b'), '/projects/team-b');
  });

  it('builds the browser URL of an API path in a project', () => {
    assert.equal(
      apiHrefInProject('team-a', '/v1/jobs/j1/files/output'),
      '/api/projects/team-a/v1/jobs/j1/files/output',
    );
    assert.equal(apiHrefInProject('default', '/v1/jobs'), '/api/v1/jobs');
  });
});
