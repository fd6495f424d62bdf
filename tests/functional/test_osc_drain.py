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

"""``openstack livemig host drain`` on nova's in-process cloud.

The command reads the real drain plan, disables the real compute service
and moves servers through nova's API, its scheduler (with this package's
filter) judging each move. Nothing is lost: every server ends ACTIVE, on
the drained host or on a host of its zone and migration domain.
"""

from unittest import mock
from urllib import parse as urlparse

from nova import utils as nova_utils
from osc_lib import exceptions
from osc_lib.test import fakes as osc_fakes
from oslo_serialization import jsonutils

from nova_livemig_ext.osc import drain
from nova_livemig_ext.osc import executor
from nova_livemig_ext.osc import plugin
from tests.functional import base
from tests.functional import test_destinations

# host1, host2 and host5 share zone az1 and domain nfs-a; host3 is of
# another domain, host4 of another zone.
LAYOUT = test_destinations.LAYOUT
ALLOWED = {'host2', 'host5'}


class ComputeEndpoint:
    """nova's compute endpoint as openstacksdk's proxy offers it.

    Each request is made at the microversion the command asks for (the
    test client's own otherwise); the live migrations asked for are
    recorded with the number of servers nova was migrating then.
    """

    def __init__(self, api):
        self.api = api
        self.moves = []

    def _request(self, path, microversion, **kwargs):
        with nova_utils.temporary_mutation(
                self.api, microversion=microversion or self.api.microversion):
            return self.api.api_request(path.lstrip('/'),
                                        check_response_status=None,
                                        **kwargs)

    def get(self, path, params=None, raise_exc=True, microversion=None):
        query = '?' + urlparse.urlencode(params) if params else ''
        return self._request(path + query, microversion)

    def post(self, path, json=None, raise_exc=True, microversion=None):
        action = next(iter(json))
        if action in ('os-migrateLive', 'evacuate'):
            servers = self.api.api_request(
                'servers/detail?all_tenants=1').json()['servers']
            in_flight = sum(1 for s in servers
                            if s['OS-EXT-STS:task_state'] in
                            ('migrating', 'rebuilding'))
            self.moves.append((action, path.split('/')[2], microversion,
                               json[action].get('host'), in_flight))
        return self._request(path, microversion, method='POST',
                             body=jsonutils.dumps(json))

    def put(self, path, json=None, raise_exc=True, microversion=None):
        return self._request(path, microversion, method='PUT',
                             body=jsonutils.dumps(json))


class DrainTestBase(base.LivemigApiTestBase):

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)
        self.app = osc_fakes.FakeApp(osc_fakes.FakeStdout(),
                                     osc_fakes.FakeLog())
        self.app.client_manager = osc_fakes.FakeClientManager()
        self.endpoint = ComputeEndpoint(self.admin_api)
        self.app.client_manager.livemig = plugin.Client(self.endpoint)
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova_livemig_ext.osc.executor.POLL_SECONDS', 0.1))

    def drain(self, *args):
        """(exit code, {server id: final row}) of one drain."""
        cmd = drain.DrainHost(self.app, None)
        parsed = cmd.get_parser('openstack').parse_args(list(args))
        cmd.exit_code = 0
        columns, rows = cmd.take_action(parsed)
        return cmd.exit_code, {row[0]: dict(zip(columns, row, strict=True))
                               for row in rows}

    def service(self, host='host1'):
        return self.admin_api.get_services(host=host,
                                           binary='nova-compute')[0]

    def assertNothingLost(self, servers, hosts):
        for server in servers:
            server = self.admin_api.get_server(server['id'])
            self.assertEqual('ACTIVE', server['status'], server['id'])
            self.assertIsNone(server['OS-EXT-STS:task_state'])
            self.assertIn(server['OS-EXT-SRV-ATTR:host'], hosts)


class DrainTest(DrainTestBase):

    def test_six_servers_two_at_a_time_within_zone_and_domain(self):
        servers = [self.boot(self.medium, 'host1')] + [
            self.boot(self.small, 'host1') for _ in range(5)]
        code, rows = self.drain('host1', '--max-concurrent', '2',
                                '--reason', 'kernel update')
        self.assertEqual(0, code, rows)
        self.assertEqual({s['id']: 'completed' for s in servers},
                         {k: r['Result'] for k, r in rows.items()})
        self.assertNothingLost(servers, ALLOWED)
        for server in servers:
            self.assertEqual(self.host_of(server), rows[server['id']]['To'])
            self.assertEqual('host1', rows[server['id']]['From'])
        service = self.service()
        self.assertEqual(('disabled', 'livemig drain: kernel update'),
                         (service['status'], service['disabled_reason']))
        # Six live migrations at 2.68, the scheduler choosing, never more
        # than two in flight.
        self.assertEqual(6, len(self.endpoint.moves))
        self.assertEqual({('os-migrateLive', '2.68', None)},
                         {m[::2][:1] + m[2:4] for m in self.endpoint.moves})
        self.assertLessEqual(max(m[4] for m in self.endpoint.moves), 1)
        self.assertIn('Plan to drain host1:', self.app.stdout.make_string())
        # Run again: nothing left to do.
        code, rows = self.drain('host1')
        self.assertEqual((0, {}), (code, rows))

    def test_follow_plan_names_each_planned_host(self):
        servers = [self.boot(self.small, 'host1') for _ in range(2)]
        _, plan_rows = self.drain('host1', '--dry-run')
        planned = {k: r['Destination'] for k, r in plan_rows.items()}
        code, rows = self.drain('host1', '--follow-plan', '--no-disable')
        self.assertEqual(0, code, rows)
        self.assertEqual(planned, {s['id']: self.host_of(s)
                                   for s in servers})
        self.assertEqual(sorted(planned.items()),
                         sorted((m[1], m[3]) for m in self.endpoint.moves))
        self.assertEqual('enabled', self.service()['status'])

    def test_an_unplaceable_server_refuses_the_plan_and_nothing_moves(self):
        # host2 and host5 keep 6912 - 3072 - 2048 = 1792 MB of room each.
        for host in ('host2', 'host5'):
            self.boot(self.large, host)
            self.boot(self.medium, host)
        small = self.boot(self.small, 'host1')
        medium = self.boot(self.medium, 'host1')
        error = self.assertRaises(exceptions.CommandError, self.drain,
                                  'host1')
        self.assertIn('Nothing was moved: no destination for 1 server(s): '
                      '%s (%s): ' % (medium['name'], medium['id']),
                      str(error))
        self.assertIn('vacant_resources', str(error))
        self.assertEqual([], self.endpoint.moves)
        self.assertEqual('enabled', self.service()['status'])
        self.assertEqual(['host1', 'host1'],
                         [self.host_of(s) for s in (small, medium)])

    def test_resume_after_an_interrupted_drain(self):
        servers = [self.boot(self.small, 'host1') for _ in range(4)]
        real_sleep = executor._sleep
        calls = []

        def ctrl_c_once(seconds):
            calls.append(seconds)
            if len(calls) == 1:
                raise KeyboardInterrupt()
            real_sleep(seconds)
        with mock.patch.object(executor, '_sleep', ctrl_c_once):
            code, rows = self.drain('host1', '--max-concurrent', '1')
        self.assertEqual(1, code)
        results = [rows[s['id']]['Result'] for s in servers]
        # The move in flight was let finish; none started after Ctrl-C.
        self.assertEqual(1, results.count('completed'), rows)
        self.assertEqual(3, results.count('not started'), rows)
        self.assertEqual(1, len(self.endpoint.moves))
        moved = next(s for s in servers
                     if rows[s['id']]['Result'] == 'completed')
        code, rows = self.drain('host1', '--max-concurrent', '1')
        self.assertEqual(0, code, rows)
        # The server moved before is no longer in the plan.
        self.assertEqual({s['id'] for s in servers} - {moved['id']},
                         set(rows))
        self.assertEqual({'completed'}, {r['Result'] for r in rows.values()})
        self.assertEqual(4, len(self.endpoint.moves))
        self.assertNothingLost(servers, ALLOWED)

    def test_an_anti_affinity_group_stays_apart(self):
        group = self.api.post_server_groups(
            {'name': 'web', 'policy': 'anti-affinity'})
        on_host1 = self.boot(self.small, 'host1', group=group)
        on_host2 = self.boot(self.small, 'host2', group=group)
        other = self.boot(self.small, 'host1')
        code, rows = self.drain('host1')
        self.assertEqual(0, code, rows)
        self.assertEqual('host5', self.host_of(on_host1))
        self.assertEqual('host2', self.host_of(on_host2))
        self.assertNothingLost([on_host1, other], ALLOWED)

    def test_stopped_server_is_reported_and_left_alone(self):
        stopped = self.boot(self.small, 'host1')
        self.admin_api.post_server_action(stopped['id'], {'os-stop': None})
        self._wait_for_state_change(stopped, 'SHUTOFF')
        active = self.boot(self.small, 'host1')
        code, rows = self.drain('host1')
        self.assertEqual(0, code, rows)
        self.assertEqual(('left alone', 'host1'),
                         (rows[stopped['id']]['Result'],
                          self.host_of(stopped)))
        self.assertIn('cold-migrated', rows[stopped['id']]['Detail'])
        self.assertEqual('completed', rows[active['id']]['Result'])

    def test_evacuate_is_refused_while_the_host_is_up(self):
        self.boot(self.small, 'host1')
        error = self.assertRaises(exceptions.CommandError, self.drain,
                                  'host1', '--evacuate')
        self.assertIn('The compute service of host1 is up', str(error))
        self.assertEqual([], self.endpoint.moves)


class DrainEvacuationTest(DrainTestBase):

    livemig_options = {'apply_to': ['live-migration', 'evacuation']}

    def test_a_host_that_is_down_is_evacuated(self):
        servers = [self.boot(self.small, 'host1') for _ in range(3)]
        self.computes['host1'].stop()
        self.admin_api.put_service_force_down(self.service()['id'], True)
        error = self.assertRaises(exceptions.CommandError, self.drain,
                                  'host1')
        self.assertIn('--evacuate', str(error))
        code, rows = self.drain('host1', '--evacuate')
        self.assertEqual(0, code, rows)
        self.assertEqual({'evacuation'}, {r['Kind'] for r in rows.values()})
        self.assertEqual({'completed'}, {r['Result'] for r in rows.values()})
        self.assertNothingLost(servers, ALLOWED)
        self.assertEqual({('evacuate', '2.68', None)},
                         {(m[0], m[2], m[3]) for m in self.endpoint.moves})
        self.assertEqual('livemig drain: maintenance',
                         self.service()['disabled_reason'])
