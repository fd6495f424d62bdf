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

"""GET /os-livemig/hosts/{host}/drain-plan promises only what nova does.

Each plan is replayed as real live migrations naming the planned host
(microversion 2.68, not forced): nova's scheduler, with this package's
filter enabled, accepts every move and the server lands where planned.
"""

from nova import utils as nova_utils

from tests.functional import base
from tests.functional import test_destinations

LAYOUT = test_destinations.LAYOUT
# 0.9 x 7680 MB may be in use on a MediumFakeDriver host.
ALLOWED_MB = 6912


class DrainPlanTestBase(base.LivemigApiTestBase):

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)

    def plan(self, host='host1', query='', api=None, status=200):
        code, body = self.call(api or self.admin_api,
                               '/hosts/%s/drain-plan%s' % (host, query))
        self.assertEqual(status, code, body)
        return body['drain_plan'] if status == 200 else body

    def replay(self, plan):
        """Live-migrate each planned move naming its destination."""
        with nova_utils.temporary_mutation(self.admin_api,
                                           microversion='2.68'):
            for move in sorted((m for m in plan['moves']
                                if m['destination']),
                               key=lambda m: m['order']):
                server = self.admin_api.get_server(move['server_id'])
                self._live_migrate(server, api=self.admin_api,
                                   host=move['destination'])
                self.assertEqual(move['destination'], self.host_of(server))

    def assertWithinCaps(self, plan):
        for host, resources in plan['hosts_after'].items():
            for rc, values in resources.items():
                self.assertLessEqual(values['used'], values['allowed'],
                                     (host, rc))


class DrainPlanTest(DrainPlanTestBase):

    def test_six_servers_within_zone_domain_and_caps(self):
        self.boot(self.large, 'host2')
        servers = [self.boot(self.medium, 'host1')] + [
            self.boot(self.small, 'host1') for _ in range(5)]
        plan = self.plan()
        self.assertEqual(('host1', True, 'live-migration', 'spread'),
                         (plan['host'], plan['feasible'], plan['move'],
                          plan['strategy']))
        self.assertEqual({s['id'] for s in servers},
                         {m['server_id'] for m in plan['moves']})
        # host3 is of another domain and host4 of another zone.
        self.assertLessEqual({m['destination'] for m in plan['moves']},
                             {'host2', 'host5'})
        # Largest first, then by id; every move ordered.
        self.assertEqual(servers[0]['id'], plan['moves'][0]['server_id'])
        self.assertEqual([1, 2, 3, 4, 5, 6],
                         [m['order'] for m in plan['moves']])
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 2048, 'DISK_GB': 10},
                         plan['moves'][0]['demand'])
        # Two requests (the flavors) judged, not six.
        self.assertEqual(2, plan['evaluated_with']['request_classes'])
        self.assertWithinCaps(plan)
        after = plan['hosts_after']
        planned_mb = sum(m['demand']['MEMORY_MB'] for m in plan['moves'])
        self.assertEqual(
            planned_mb, sum(after[h]['MEMORY_MB']['used'] -
                            after[h]['MEMORY_MB']['used_before']
                            for h in after))
        self.replay(plan)
        for host, resources in after.items():
            self.assertEqual(resources['MEMORY_MB']['used'],
                             self.provider_usage(host)['MEMORY_MB'])

    def test_pack_fills_the_fuller_host(self):
        self.boot(self.large, 'host2')
        self.boot(self.small, 'host1')
        plan = self.plan(query='?strategy=pack')
        self.assertEqual('host2', plan['moves'][0]['destination'])
        spread = self.plan()
        self.assertEqual('host5', spread['moves'][0]['destination'])

    def test_unplaceable_server_makes_the_plan_infeasible(self):
        # host2 and host5 keep 6912 - 3072 - 2048 = 1792 MB of room each.
        for host in ('host2', 'host5'):
            self.boot(self.large, host)
            self.boot(self.medium, host)
        small = self.boot(self.small, 'host1')
        medium = self.boot(self.medium, 'host1')
        plan = self.plan()
        self.assertFalse(plan['feasible'])
        moves = {m['server_id']: m for m in plan['moves']}
        self.assertIsNone(moves[medium['id']]['destination'])
        self.assertIsNone(moves[medium['id']]['order'])
        reasons = {r['host']: r for r in moves[medium['id']]['reasons']}
        self.assertEqual(['host2', 'host3', 'host4', 'host5'],
                         sorted(reasons))
        self.assertEqual('vacant_resources',
                         reasons['host2']['constraint'])
        self.assertEqual({'resource_class': 'MEMORY_MB', 'requested': 2048,
                          'allowed': 1792.0, 'capacity': 7680,
                          'max_utilization': 0.9, 'used': 5120},
                         reasons['host2']['details'])
        self.assertEqual('migration_domain', reasons['host3']['constraint'])
        self.assertEqual('availability_zone',
                         reasons['host4']['constraint'])
        self.assertIn(moves[small['id']]['destination'], ('host2', 'host5'))
        self.assertEqual(1, moves[small['id']]['order'])
        self.replay(plan)

    def test_later_moves_count_the_earlier_ones(self):
        # Room 1792 MB on host2 and host5: two small servers fit one on
        # each, not both on the same host.
        for host in ('host2', 'host5'):
            self.boot(self.large, host)
            self.boot(self.medium, host)
        self.boot(self.small, 'host1')
        self.boot(self.small, 'host1')
        self.boot(self.small, 'host1')
        plan = self.plan()
        self.assertFalse(plan['feasible'])
        placed = [m['destination'] for m in plan['moves']
                  if m['destination']]
        self.assertEqual(['host2', 'host5'], sorted(placed))
        (unplaced,) = [m for m in plan['moves'] if not m['destination']]
        reasons = {r['host']: r for r in unplaced['reasons']}
        self.assertEqual('vacant_resources', reasons['host2']['constraint'])
        self.assertIn('with the moves planned before',
                      reasons['host2']['message'])
        self.assertWithinCaps(plan)
        self.replay(plan)

    def test_anti_affinity_members_go_to_different_hosts(self):
        group = self.api.post_server_groups(
            {'name': 'web', 'policy': 'anti-affinity'})
        # Members on host1 cannot both be there: nova's filter refuses.
        # One on host1, one elsewhere is what nova allows; a second
        # anti-affinity group gives host1 two grouped servers.
        other = self.api.post_server_groups(
            {'name': 'db', 'policy': 'anti-affinity'})
        web = self.boot(self.small, 'host1', group=group)
        db = self.boot(self.small, 'host1', group=other)
        self.boot(self.small, 'host2', group=other)
        plan = self.plan()
        self.assertTrue(plan['feasible'])
        moves = {m['server_id']: m for m in plan['moves']}
        # db's group has a member on host2: host5 is its only host.
        self.assertEqual('host5', moves[db['id']]['destination'])
        self.assertIn(moves[web['id']]['destination'], ('host2', 'host5'))
        self.assertEqual(2, plan['evaluated_with']['request_classes'])
        self.replay(plan)

    def test_anti_affinity_members_never_share_a_planned_host(self):
        # A forced boot (zone:host) bypasses nova's filters: two members
        # of one anti-affinity group end up on host1.
        self.flags(disable_group_policy_check_upcall=True,
                   group='workarounds')
        group = self.api.post_server_groups(
            {'name': 'web', 'policy': 'anti-affinity'})
        members = []
        for _ in range(2):
            body = self._build_server(flavor_id=self.small, networks='none',
                                      az='az1:host1')
            server = self.admin_api.post_server(
                {'server': body,
                 'os:scheduler_hints': {'group': group['id']}})
            members.append(self._wait_for_state_change(server, 'ACTIVE'))
        self.assertEqual(['host1', 'host1'],
                         [self.host_of(s) for s in members])
        plan = self.plan()
        self.assertTrue(plan['feasible'])
        self.assertEqual(['host2', 'host5'],
                         sorted(m['destination'] for m in plan['moves']))
        self.replay(plan)

    def test_affinity_members_are_reported(self):
        group = self.api.post_server_groups(
            {'name': 'pair', 'policy': 'affinity'})
        members = [self.boot(self.small, 'host1', group=group)
                   for _ in range(2)]
        plan = self.plan()
        self.assertFalse(plan['feasible'])
        self.assertEqual({m['id'] for m in members},
                         {m['server_id'] for m in plan['moves']})
        for move in plan['moves']:
            self.assertIsNone(move['destination'])
            (reason,) = move['reasons']
            self.assertEqual('nova:ServerGroupAffinityFilter',
                             reason['constraint'])
            self.assertEqual(group['id'], reason['details']['server_group'])

    def test_stopped_server_is_listed_without_destination(self):
        server = self.boot(self.small, 'host1')
        self.admin_api.post_server_action(server['id'], {'os-stop': None})
        self._wait_for_state_change(server, 'SHUTOFF')
        active = self.boot(self.small, 'host1')
        plan = self.plan()
        self.assertFalse(plan['feasible'])
        moves = {m['server_id']: m for m in plan['moves']}
        self.assertEqual(1, moves[active['id']]['order'])
        stopped = moves[server['id']]
        self.assertIsNone(stopped['destination'])
        (reason,) = stopped['reasons']
        self.assertEqual('api:server_state', reason['constraint'])
        self.assertIn('cold-migrated', reason['message'])

    def test_empty_host_is_a_feasible_empty_plan(self):
        plan = self.plan('host3')
        self.assertEqual((True, [], {}), (plan['feasible'], plan['moves'],
                                          plan['hosts_after']))


class DrainPlanEvacuationTest(DrainPlanTestBase):

    livemig_options = {'apply_to': ['live-migration', 'evacuation']}

    def test_down_host_gets_an_evacuation_plan(self):
        servers = [self.boot(self.small, 'host1') for _ in range(2)]
        self.computes['host1'].stop()
        self.admin_api.put_service_force_down(
            self.admin_api.get_services(host='host1',
                                        binary='nova-compute')[0]['id'],
            True)
        plan = self.plan()
        self.assertEqual(('evacuation', True), (plan['move'],
                                                plan['feasible']))
        # The zone and domain rules apply to evacuations too.
        self.assertLessEqual({m['destination'] for m in plan['moves']},
                             {'host2', 'host5'})
        self.assertEqual({'evacuation'}, {m['move'] for m in plan['moves']})
        status, body = self.call(self.admin_api, '/hosts/host1/drain-plan'
                                 '?move=live-migration')
        self.assertEqual(409, status, body)
        self.assertIn('move=evacuation',
                      body['conflictingRequest']['message'])
        for move in plan['moves']:
            server = self.admin_api.get_server(move['server_id'])
            self._evacuate_server(server, {'host': move['destination']},
                                  expected_host=move['destination'])
        self.assertEqual(2, len(servers))


class DrainPlanRefusalsTest(DrainPlanTestBase):

    def test_unknown_host_is_404(self):
        body = self.plan('nohost', status=404)
        self.assertIn('Compute host nohost could not be found',
                      body['itemNotFound']['message'])

    def test_bad_parameters_are_400(self):
        for query, name in (('?strategy=tight', 'strategy'),
                            ('?move=cold', 'move'), ('?strategy=', 'strategy'),
                            ('?stratgy=pack', 'stratgy'),
                            ('?move=evacuation&move=evacuation', 'move')):
            body = self.plan(query=query, status=400)
            self.assertIn(name, body['badRequest']['message'])

    def test_evacuation_of_an_up_host_is_409(self):
        body = self.plan(query='?move=evacuation', status=409)
        self.assertIn('is up', body['conflictingRequest']['message'])

    def test_member_and_reader_are_forbidden(self):
        from nova.tests.functional.api import client
        for roles in (['reader'], ['reader', 'member']):
            api = client.TestOpenStackClient(
                'someone', self.api_fixture.base_url,
                project_id='someproject', roles=roles)
            api.microversion = self.microversion
            body = self.plan(api=api, status=403)
            self.assertIn('livemig_ext:hosts:drain_plan',
                          body['forbidden']['message'])


class DrainPlanRoundTripsTest(DrainPlanTestBase):

    def count(self, host='host1'):
        self.quiet_services()
        with base.RoundTrips() as trips:
            self.plan(host)
        return trips.sql, trips.placement

    def test_round_trips_do_not_grow_with_servers_or_hosts(self):
        for _ in range(2):
            self.boot(self.small, 'host1')
        two = self.count()
        # One request class: one placement query, and a few statements.
        self.assertEqual(1, two[1])
        self.assertGreater(two[0], 0)
        for _ in range(4):
            self.boot(self.small, 'host1')
        six = self.count()
        self.assertEqual(two, six)
        for name in ('host6', 'host7'):
            self._start_compute(name)
            self._add_to_aggregate('az-az1', name)
            self._add_to_aggregate('domain-nfs-a', name)
        more_hosts = self.count()
        self.assertEqual(six, more_hosts)
