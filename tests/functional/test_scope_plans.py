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

"""GET /os-livemig/consolidation-plan and /balance-plan on nova's cloud.

Every plan is replayed as real live migrations naming the planned host
(microversion 2.68, not forced), in the plan's order: nova's scheduler,
with this package's filter enabled, accepts each move and the server
lands where planned, ACTIVE, in its zone and migration domain.
"""

import datetime

from nova import context as nova_context
from nova import objects
from nova import utils as nova_utils
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from tests.functional import base
from tests.functional import test_destinations

# host1, host2 and host5 share zone az1 and domain nfs-a; host3 is of
# another domain, host4 of another zone.
LAYOUT = test_destinations.LAYOUT


class ScopePlanTestBase(base.LivemigApiTestBase):

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)

    def plan(self, kind, query='', api=None, status=200):
        code, body = self.call(api or self.admin_api,
                               '/%s-plan%s' % (kind, query))
        self.assertEqual(status, code, body)
        return body['%s_plan' % kind] if status == 200 else body

    def replay(self, plan):
        """Live-migrate each planned move, in order, naming its host."""
        with nova_utils.temporary_mutation(self.admin_api,
                                           microversion='2.68'):
            for move in sorted(plan['moves'], key=lambda m: m['order']):
                server = self.admin_api.get_server(move['server_id'])
                self.assertEqual(move['source'], self.host_of(server))
                self._live_migrate(server, api=self.admin_api,
                                   host=move['destination'])
                self.assertEqual(move['destination'], self.host_of(server))

    def servers_on(self, host):
        return [s for s in self.admin_api.get_servers(
            search_opts={'all_tenants': 1})
            if s['OS-EXT-SRV-ATTR:host'] == host]

    def assertAllActiveWithin(self, servers, hosts):
        for server in servers:
            found = self.admin_api.get_server(server['id'])
            self.assertEqual('ACTIVE', found['status'], found['id'])
            self.assertIn(found['OS-EXT-SRV-ATTR:host'], hosts)


class ConsolidationPlanTest(ScopePlanTestBase):

    def test_four_hosts_consolidate_within_the_rules(self):
        # az1 holds host1, host2, host5 (nfs-a) and host3 (nfs-b).
        servers = [self.boot(self.small, 'host1'),
                   self.boot(self.medium, 'host2'),
                   self.boot(self.small, 'host5'),
                   self.boot(self.small, 'host3')]
        plan = self.plan('consolidation', '?availability_zone=az1')
        self.assertEqual(['host1', 'host2', 'host3', 'host5'],
                         plan['scope']['hosts'])
        self.assertEqual(4, plan['hosts_in_use_before'])
        # nfs-a's three servers fit on one host; host3's cannot leave
        # its domain, and is alone there.
        self.assertEqual(2, plan['lower_bound'])
        self.assertEqual(2, plan['hosts_in_use_after'])
        self.assertEqual(2, len(plan['hosts_emptied']))
        self.assertNotIn('host3', plan['hosts_emptied'])
        self.assertEqual(2, len(plan['moves']))
        self.assertEqual([1, 2], [m['order'] for m in plan['moves']])
        for move in plan['moves']:
            self.assertIn(move['source'], plan['hosts_emptied'])
            self.assertIn(move['destination'], ('host1', 'host2', 'host5'))
            self.assertIn('empties %s' % move['source'], move['why'])
        self.assertEqual(
            sum(m['demand']['MEMORY_MB'] for m in plan['moves']),
            plan['ram_moved_mb'])
        self.assertEqual('allocation', plan['measure'])
        hosts = {h['host']: h for h in plan['hosts']}
        for name in plan['hosts_emptied']:
            self.assertEqual(0, hosts[name]['servers_after'])
            self.assertEqual(0.0, hosts[name]['utilization_after'])
        self.replay(plan)
        for name in plan['hosts_emptied']:
            self.assertEqual([], self.servers_on(name))
            self.assertEqual(0, self.provider_usage(name)['MEMORY_MB'])
        self.assertAllActiveWithin(servers[:3], ('host1', 'host2', 'host5'))
        self.assertEqual('host3', self.host_of(servers[3]))
        # Once consolidated, nothing more to do.
        again = self.plan('consolidation', '?availability_zone=az1')
        self.assertEqual([], again['moves'])
        self.assertEqual(2, again['hosts_in_use_before'])

    def test_caps_keep_a_second_host(self):
        # 0.9 x 7680 = 6912 MB may be used on a host: 3072 x 3 does not
        # fit on one.
        servers = [self.boot(self.large, host)
                   for host in ('host1', 'host2', 'host5')]
        plan = self.plan('consolidation', '?aggregate=domain-nfs-a')
        self.assertEqual(['host1', 'host2', 'host4', 'host5'],
                         plan['scope']['hosts'])
        self.assertEqual(2, plan['lower_bound'])
        self.assertEqual(1, len(plan['hosts_emptied']))
        self.assertEqual(1, len(plan['moves']))
        self.replay(plan)
        self.assertAllActiveWithin(servers, ('host1', 'host2', 'host5'))
        for host in ('host1', 'host2', 'host5'):
            self.assertLessEqual(self.provider_usage(host)['MEMORY_MB'],
                                 6912)

    def test_anti_affinity_members_stay_apart(self):
        group = self.admin_api.post_server_groups(
            {'name': 'apart', 'policy': 'anti-affinity'})
        members = [self.boot(self.small, host, group=group)
                   for host in ('host1', 'host2')]
        other = self.boot(self.small, 'host5')
        plan = self.plan('consolidation', '?availability_zone=az1')
        # Two hosts at least: one per member.
        self.assertEqual(2, plan['lower_bound'])
        self.assertEqual(2, plan['hosts_in_use_after'])
        self.replay(plan)
        hosts = {self.host_of(m) for m in members}
        self.assertEqual(2, len(hosts))
        self.assertAllActiveWithin(members + [other],
                                   ('host1', 'host2', 'host5'))

    def test_max_moves_limits_the_plan(self):
        for host in ('host1', 'host2', 'host5'):
            self.boot(self.small, host)
            self.boot(self.small, host)
        full = self.plan('consolidation', '?availability_zone=az1')
        self.assertEqual(4, len(full['moves']))
        limited = self.plan('consolidation',
                            '?availability_zone=az1&max_moves=3')
        # Whole hosts only: one host's two servers.
        self.assertEqual(2, len(limited['moves']))
        self.assertEqual(1, len(limited['hosts_emptied']))
        self.assertEqual(3, limited['max_moves'])

    def test_servers_that_cannot_move_keep_their_host(self):
        stopped = self.boot(self.small, 'host1')
        self.admin_api.post_server_action(stopped['id'], {'os-stop': None})
        self._wait_for_state_change(stopped, 'SHUTOFF')
        self.boot(self.small, 'host2')
        plan = self.plan('consolidation', '?availability_zone=az1')
        unplanned = {u['server_id']: u for u in plan['unplanned']}
        self.assertEqual(['api:server_state'], [
            r['constraint'] for r in unplanned[stopped['id']]['reasons']])
        self.assertEqual('host1', unplanned[stopped['id']]['host'])
        self.assertNotIn('host1', plan['hosts_emptied'])
        self.assertEqual(['host2'], plan['hosts_emptied'])
        self.assertEqual('host1', plan['moves'][0]['destination'])
        self.replay(plan)

    def test_errors(self):
        body = self.plan('consolidation', '?availability_zone=nowhere',
                         status=404)
        self.assertIn('No availability zone named nowhere',
                      body['itemNotFound']['message'])
        self.assertIn('az1', body['itemNotFound']['message'])
        body = self.plan('consolidation', '?aggregate=nothing', status=404)
        self.assertIn('No host aggregate named nothing',
                      body['itemNotFound']['message'])
        for query, name in (('?max_moves=0', 'max_moves'),
                            ('?max_moves=x', 'max_moves'),
                            ('?availability_zone=', 'availability_zone'),
                            ('?host=host1', 'host')):
            body = self.plan('consolidation', query, status=400)
            self.assertIn(name, body['badRequest']['message'], query)
        for api in (self.api_fixture.api, self.api_fixture.reader_api):
            body = self.plan('consolidation', api=api, status=403)
            self.assertIn('livemig_ext:plans:consolidation',
                          body['forbidden']['message'])


class PinnedZonePlanTest(ScopePlanTestBase):
    """Servers pinned to their zone, where zones do not bind the others."""

    livemig_options = {'same_availability_zone': False}

    def test_pinned_servers_never_planned_out_of_their_zone(self):
        # The domain nfs-a spans host4 (az2) and host1, host2, host5
        # (az1). host4 is the fullest: the planner would keep it, but the
        # servers pinned to az1 may not go there.
        loose = [self.boot(self.small, 'host4') for _ in range(2)]
        pinned = [self.boot(self.small, host, az='az1')
                  for host in ('host1', 'host2')]
        plan = self.plan('consolidation', '?aggregate=domain-nfs-a')
        self.assertEqual(['host1', 'host2', 'host4', 'host5'],
                         plan['scope']['hosts'])
        # One request judged: the pinned zone and the unpinned servers
        # share it (the zone only narrows placement's answer).
        self.assertEqual(1, plan['evaluated_with']['request_classes'])
        self.assertEqual(1, plan['hosts_in_use_after'])
        self.assertIn('host4', plan['hosts_emptied'])
        pinned_ids = {s['id'] for s in pinned}
        for move in plan['moves']:
            self.assertNotEqual('host4', move['destination'])
            if move['server_id'] in pinned_ids:
                self.assertNotEqual('host4', move['destination'])
        self.replay(plan)
        self.assertAllActiveWithin(loose + pinned,
                                   ('host1', 'host2', 'host5'))

    def test_group_members_share_their_flavor_s_request(self):
        group = self.admin_api.post_server_groups(
            {'name': 'apart', 'policy': 'anti-affinity'})
        members = [self.boot(self.small, host, group=group)
                   for host in ('host1', 'host2')]
        others = [self.boot(self.small, 'host4'),
                  self.boot(self.small, 'host5', az='az1')]
        plan = self.plan('consolidation', '?aggregate=domain-nfs-a')
        self.assertEqual(1, plan['evaluated_with']['request_classes'])
        self.assertEqual(2, plan['hosts_in_use_after'])
        self.replay(plan)
        self.assertEqual(2, len({self.host_of(m) for m in members}))
        self.assertAllActiveWithin(members + others,
                                   ('host1', 'host2', 'host4', 'host5'))
        self.assertIn(self.host_of(others[1]), ('host1', 'host2', 'host5'))


class BalancePlanTest(ScopePlanTestBase):

    def test_moves_off_the_busiest_host(self):
        busy = [self.boot(self.medium, 'host1') for _ in range(3)]
        self.boot(self.small, 'host2')
        plan = self.plan('balance', '?availability_zone=az1')
        self.assertEqual('allocation', plan['measure'])
        self.assertEqual('placement allocations',
                         plan['freshness']['source'])
        self.assertGreater(len(plan['moves']), 0)
        self.assertEqual('host1', plan['moves'][0]['source'])
        self.assertIn('relieves host1', plan['moves'][0]['why'])
        self.assertLess(plan['spread_after'], plan['spread_before'])
        hosts = {h['host']: h for h in plan['hosts']}
        self.assertLess(hosts['host1']['utilization_after'],
                        hosts['host1']['utilization_before'])
        # host3 is of another domain: nothing lands there.
        for move in plan['moves']:
            self.assertIn(move['destination'], ('host2', 'host5'))
        before = self.provider_usage('host1')['MEMORY_MB']
        self.replay(plan)
        self.assertLess(self.provider_usage('host1')['MEMORY_MB'], before)
        self.assertAllActiveWithin(busy, ('host1', 'host2', 'host5'))

    def test_max_moves(self):
        for _ in range(3):
            self.boot(self.medium, 'host1')
        plan = self.plan('balance', '?availability_zone=az1&max_moves=1')
        self.assertEqual(1, len(plan['moves']))

    def _measure(self, host, percent, age_seconds=5):
        ctxt = nova_context.get_admin_context()
        # NOTE: the fake driver has no CPU to measure; this is the record
        # nova's cpu.virt_driver monitor writes (a percentage over 100).
        cells = objects.CellMappingList.get_all(ctxt)
        stamp = timeutils.utcnow() - datetime.timedelta(seconds=age_seconds)
        for cell in cells:
            if cell.is_cell0():
                continue
            with nova_context.target_cell(ctxt, cell) as cctxt:
                nodes = objects.ComputeNodeList.get_all_by_host(cctxt, host)
                for node in nodes:
                    node.metrics = jsonutils.dumps([{
                        'name': 'cpu.percent', 'value': percent / 100.0,
                        'timestamp': nova_utils.strtime(stamp),
                        'source': 'libvirt.LibvirtDriver'}])
                    node.save()

    def test_measured_cpu(self):
        for host in ('host1', 'host2', 'host5', 'host3'):
            self.boot(self.small, host)
        hot = self.boot(self.small, 'host1')
        body = self.plan('balance', '?availability_zone=az1&measure=cpu',
                         status=409)
        self.assertIn('cpu.percent', body['conflictingRequest']['message'])
        self._measure('host1', 90)
        self._measure('host2', 10)
        self._measure('host5', 20)
        self._measure('host3', 5, age_seconds=3600)
        plan = self.plan('balance', '?availability_zone=az1&measure=cpu')
        self.assertEqual('cpu', plan['measure'])
        self.assertEqual(['host3'], plan['unmeasured'])
        self.assertEqual(['host3'], plan['freshness']['stale_hosts'])
        self.assertEqual(3, plan['freshness']['measured_hosts'])
        self.assertEqual(0.8, plan['cpu_limit'])
        self.assertEqual('host1', plan['moves'][0]['source'])
        hosts = {h['host']: h for h in plan['hosts']}
        self.assertEqual(0.9, hosts['host1']['utilization_before'])
        self.assertLess(hosts['host1']['utilization_after'], 0.9)
        self.assertLess(plan['spread_after'], plan['spread_before'])
        self.replay(plan)
        self.assertAllActiveWithin([hot], ('host1', 'host2', 'host5'))

    def test_errors(self):
        body = self.plan('balance', '?measure=load', status=400)
        self.assertIn('measure', body['badRequest']['message'])
        body = self.plan('balance', '?availability_zone=az9', status=404)
        self.assertIn('az9', body['itemNotFound']['message'])
        for api in (self.api_fixture.api, self.api_fixture.reader_api):
            body = self.plan('balance', api=api, status=403)
            self.assertIn('livemig_ext:plans:balance',
                          body['forbidden']['message'])
