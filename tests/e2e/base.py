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

"""What the end-to-end tests share: clients of the cloud under test.

The tests run against the local cloud of ``tools/minicloud`` (real
keystone, placement, nova-api, nova-conductor, nova-scheduler and four
nova-compute processes) or against a devstack node (``OS_CLOUD``): see
``tests/e2e/target.py``. Without a cloud they skip, and say so, unless
``MINICLOUD_REQUIRED`` is set (CI): then they fail.
"""

import os
import time

import testtools

from tests.e2e import target

MICROVERSION = target.MICROVERSION


class E2ETestCase(testtools.TestCase):
    """Admin and member clients; servers made by a test are deleted.

    ``self.source`` and ``self.peer`` share a zone and a migration domain;
    ``self.other_domain`` shares the zone only, ``self.other_zone`` the
    domain only.
    """

    # Starting a server or a nova-compute takes seconds, not minutes.
    timeout = 120

    def setUp(self):
        super().setUp()
        self.target = target.current()
        why = self.target.missing()
        if why:
            if os.environ.get('MINICLOUD_REQUIRED'):
                self.fail(why + ' failed or was not run')
            self.skipTest(why + ' starts it')
        self.admin = self.target.connect()
        self.compute = self.admin.compute
        self.target.ensure_topology(self.admin)
        roles = self.target.hosts(self.admin)
        self.source, self.peer, self.other_domain, self.other_zone = (
            roles['compute1'], roles['compute2'], roles['compute3'],
            roles['compute4'])
        self.api = self.admin.endpoint_for('compute').rstrip('/') + \
            '/os-livemig'

    def member(self):
        """A connection of a user with the member role only."""
        return self.target.connect(*target.ensure_member(self.admin))

    # -- servers -----------------------------------------------------------

    def boot(self, name, flavor='m1.small', host=None):
        """Boot a server as admin (on a named host, no zone) and wait."""
        body = {'name': name, 'imageRef': self.target.image_id(self.admin),
                'flavorRef': self.flavor_id(flavor), 'networks': 'none'}
        if host:
            body['host'] = host
        response = self.compute.post('/servers', json={'server': body},
                                     microversion=MICROVERSION)
        self.assertEqual(202, response.status_code, response.text)
        server_id = response.json()['server']['id']
        self.addCleanup(self.delete, server_id)
        server = self.wait_for(server_id, lambda s: s.status != 'BUILD')
        self.assertEqual('ACTIVE', server.status, server.fault)
        return server

    def delete(self, server_id):
        server = self.compute.find_server(server_id, all_projects=True)
        if server is not None:
            self.compute.delete_server(server)
            self.compute.wait_for_delete(server, wait=60)
        # nova deletes the allocations just after the instance record.
        deadline = time.monotonic() + 30
        while self.admin.placement.get('/allocations/%s' % server_id).json()[
                'allocations'] and time.monotonic() < deadline:
            time.sleep(0.2)

    def clear_hosts(self, *hosts):
        """Delete every server on the hosts (the demo's, say)."""
        for host in hosts:
            for server in self.compute.servers(all_projects=True,
                                               compute_host=host):
                self.delete(server.id)

    def enable(self, host):
        """Enable the nova-compute service of ``host`` again."""
        for service in self.compute.services(binary='nova-compute',
                                             host=host):
            self.compute.enable_service(service)

    def service(self, host):
        """The nova-compute service of ``host``."""
        (service,) = self.compute.services(binary='nova-compute', host=host)
        return service

    def flavor_id(self, name):
        return self.compute.find_flavor(name, ignore_missing=False).id

    def wait_for(self, server_id, done, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            server = self.compute.get_server(server_id)
            if done(server):
                return server
            if time.monotonic() > deadline:
                self.fail('server %s still %s/%s on %s after %d s' % (
                    server_id, server.status, server.task_state,
                    server.compute_host, timeout))
            time.sleep(0.5)

    def live_migrate(self, server, host=None):
        """Ask nova for a live migration; return the HTTP response.

        From microversion 2.34 the API answers 202 and the conductor
        checks and schedules afterwards: a refusal shows as a migration
        in status ``error``.
        """
        body = {'os-migrateLive': {'host': host, 'block_migration': 'auto'}}
        return self.compute.post('/servers/%s/action' % server.id,
                                 json=body, microversion=MICROVERSION)

    def last_migration(self, server):
        migrations = self.compute.get(
            '/os-migrations?instance_uuid=%s' % server.id,
            microversion=MICROVERSION).json()['migrations']
        return max(migrations, key=lambda m: m['id'])

    def settled(self, server):
        return self.wait_for(server.id, lambda s: s.task_state is None and
                             s.status != 'MIGRATING')

    # -- reading -----------------------------------------------------------

    def livemig(self, path, session=None, **kwargs):
        """GET a path of the API extension (through nova-api)."""
        session = session or self.admin.session
        return session.get(self.api + path, raise_exc=False, **kwargs)

    def placement_usage(self):
        """{host: {resource class: used}} as placement reports it."""
        placement = self.admin.placement
        usage = {}
        for provider in placement.resource_providers():
            body = placement.get('/resource_providers/%s/usages' %
                                 provider.id).json()
            usage[provider.name] = body['usages']
        return usage

    def scheduler_log_since(self, mark):
        return self.target.log_since(mark)

    def scheduler_log_mark(self):
        return self.target.log_mark()

    def assert_hosts_match_placement(self):
        """used and free of every host agree with placement's usages.

        Placement is read before and after the API; while a move is still
        releasing its source the two differ and the check is taken again.
        """
        deadline = time.monotonic() + 30
        while True:
            before = self.placement_usage()
            hosts = self.livemig('/hosts').json()['hosts']
            usage = self.placement_usage()
            if before == usage or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(
            {s.host for s in self.compute.services(binary='nova-compute')},
            {host['host'] for host in hosts})
        for host in hosts:
            for rc, entry in host['resources'].items():
                self.assertEqual(usage[host['host']].get(rc, 0),
                                 entry['used'], '%s %s' % (host['host'], rc))
                self.assertEqual(entry['capacity'] - entry['used'],
                                 entry['free'])
            shown = self.livemig('/hosts/' + host['host']).json()['host']
            # Projects, moves in flight and allocations neither accounts
            # for make up the usage.
            holds = list(shown['projects']) + [
                move['held'] for moves in shown['migrations'].values()
                for move in moves] + [
                other['held'] for other in shown['other_allocations']]
            for rc in ('VCPU', 'MEMORY_MB', 'DISK_GB'):
                self.assertEqual(
                    shown['resources'][rc]['used'],
                    sum(hold.get(rc, 0) for hold in holds),
                    '%s %s' % (host['host'], rc))
