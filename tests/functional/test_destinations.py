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

"""GET /os-livemig/servers/{id}/destinations tells what the scheduler does.

The honesty test of the explain API: each scenario explains a server,
then live-migrates it with nova's real scheduler choosing while a witness
records what nova itself decided (placement's allocation candidates, each
enabled filter's input and output). The host the server lands on is the
one ranked first, and every host the scheduler refused is listed as
ineligible, its first reason of the stage that refused it.
"""

from tests.functional import base

# Four computes in two zones and two migration domains.
LAYOUT = {
    'host1': ('az1', 'nfs-a'),
    'host2': ('az1', 'nfs-a'),
    'host3': ('az1', 'nfs-b'),
    'host4': ('az2', 'nfs-a'),
    'host5': ('az1', 'nfs-a'),
}
PLUGIN_RULES = ('vacant_resources', 'availability_zone', 'migration_domain')


class Witness:
    """What nova's scheduler decided for the requests it served."""

    def __init__(self, test):
        manager = test.scheduler_service.manager
        self.candidates = set()
        self.refused_by = {}
        real_candidates = manager.placement_client.get_allocation_candidates

        def get_allocation_candidates(ctxt, resources):
            result = real_candidates(ctxt, resources)
            if result and result[0]:
                for alloc_req in result[0]:
                    self.candidates.update(alloc_req['allocations'])
            return result

        test.useFixture(base.fixtures.MockPatchObject(
            manager.placement_client, 'get_allocation_candidates',
            side_effect=get_allocation_candidates))
        for host_filter in manager.host_manager.enabled_filters:
            self._watch(test, host_filter)

    def _watch(self, test, host_filter):
        name = type(host_filter).__name__
        real = host_filter.filter_all

        def filter_all(objs, spec_obj):
            objs = list(objs)
            passed = list(real(objs, spec_obj) or ())
            for hs in objs:
                if hs not in passed:
                    self.refused_by.setdefault(hs.host, name)
            return passed

        test.useFixture(base.fixtures.MockPatchObject(
            host_filter, 'filter_all', side_effect=filter_all))


class DestinationsTest(base.LivemigApiTestBase):

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)

    def explain(self, server, query='', api=None):
        status, body = self.call(api or self.admin_api,
                                 '/servers/%s/destinations%s'
                                 % (server['id'], query))
        self.assertEqual(200, status, body)
        return body

    def by_host(self, body):
        return {d['host']: d for d in body['destinations']}

    def first_reason(self, body, host):
        return self.by_host(body)[host]['reasons'][0]['constraint']

    def assertHonest(self, server, body):
        """Live-migrate ``server``; nova decides as ``body`` said."""
        witness = Witness(self)
        eligible = [d for d in body['destinations'] if d['eligible']]
        if eligible:
            # Hosts of equal weight share rank 1: nova takes any of them.
            first = {d['host'] for d in eligible if d['rank'] == 1}
            self.assertEqual(eligible[0]['host'], min(first))
            moved = self.live_migrate(server)
            self.assertIn(moved['OS-EXT-SRV-ATTR:host'], first)
        else:
            self.live_migrate_fails(server)
        rp_of = {host: self._get_provider_uuid_by_host(host)
                 for host in self.by_host(body)}
        for destination in body['destinations']:
            host = destination['host']
            if destination['eligible']:
                self.assertNotIn(host, witness.refused_by)
                continue
            first = destination['reasons'][0]['constraint']
            if rp_of[host] not in witness.candidates:
                self.assertEqual('placement', first, destination)
            elif witness.refused_by.get(host) == base.FILTER_NAME_SHORT:
                self.assertIn(first, PLUGIN_RULES, destination)
            else:
                self.assertEqual('nova:%s' % witness.refused_by.get(host),
                                 first, destination)

    def test_zone_domain_and_rank(self):
        self.boot(self.large, 'host2')
        server = self.boot(self.medium, 'host1')
        body = self.explain(server)
        self.assertEqual('host1', body['server']['host'])
        self.assertEqual('az1', body['server']['availability_zone'])
        self.assertEqual(['nfs-a'], body['server']['migration_domains'])
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 2048, 'DISK_GB': 10},
                         body['server']['demand'])
        hosts = self.by_host(body)
        self.assertEqual(['host5', 'host2', 'host3', 'host4'],
                         [d['host'] for d in body['destinations']])
        # host5 is empty, host2 holds a large server: spread ranks host5
        # first.
        self.assertEqual((1, 2), (hosts['host5']['rank'],
                                  hosts['host2']['rank']))
        self.assertGreater(hosts['host5']['weight'],
                           hosts['host2']['weight'])
        self.assertEqual('migration_domain',
                         self.first_reason(body, 'host3'))
        self.assertIn('the host is in migration domain nfs-b, the source '
                      'host host1 is in nfs-a',
                      hosts['host3']['reasons'][0]['message'])
        self.assertEqual('availability_zone',
                         self.first_reason(body, 'host4'))
        self.assertEqual({'availability_zone': 'az2',
                          'source_availability_zone': 'az1'},
                         hosts['host4']['reasons'][0]['details'])
        for host in ('host3', 'host4'):
            self.assertIsNone(hosts[host]['rank'])
            self.assertIsNone(hosts[host]['weight'])
        self.assertHonest(server, body)

    def test_one_host(self):
        server = self.boot(self.medium, 'host1')
        body = self.explain(server, '?host=host4')
        self.assertEqual(['host4'],
                         [d['host'] for d in body['destinations']])
        self.assertFalse(body['destinations'][0]['eligible'])

    def test_headroom_where_placement_would_accept(self):
        # 0.9 x 7680 = 6912 < 3072 + 2048 + 2048 = 7168 <= 7680.
        for host in ('host2', 'host5'):
            self.boot(self.large, host)
            self.boot(self.medium, host)
        server = self.boot(self.medium, 'host1')
        body = self.explain(server)
        self.assertEqual([], [d for d in body['destinations']
                              if d['eligible']])
        reason = self.by_host(body)['host2']['reasons'][0]
        self.assertEqual('vacant_resources', reason['constraint'])
        self.assertEqual(
            {'resource_class': 'MEMORY_MB', 'requested': 2048,
             'allowed': 1792.0, 'capacity': 7680, 'max_utilization': 0.9,
             'used': 5120}, reason['details'])
        self.assertHonest(server, body)

    def test_host_placement_cannot_fit(self):
        # 3 x 2048 + 1024 = 7168 in use: 512 left for a 2048 MB server.
        for _ in range(3):
            self.boot(self.medium, 'host2')
        self.boot(self.small, 'host2')
        server = self.boot(self.medium, 'host1')
        body = self.explain(server)
        reason = self.by_host(body)['host2']['reasons'][0]
        self.assertEqual('placement', reason['constraint'])
        self.assertEqual('MEMORY_MB: requested 2048, free 512 of capacity '
                         '7680 (used 7168)', reason['message'])
        self.assertHonest(server, body)

    def test_disabled_compute(self):
        server = self.boot(self.medium, 'host1')
        self.admin_api.put_service(
            self.admin_api.get_services(host='host5',
                                        binary='nova-compute')[0]['id'],
            {'status': 'disabled', 'disabled_reason': 'maintenance'})
        body = self.explain(server)
        reason = self.by_host(body)['host5']['reasons'][0]
        self.assertEqual('placement', reason['constraint'])
        self.assertIn('the compute service is disabled (maintenance)',
                      reason['message'])
        self.assertEqual('host2', body['destinations'][0]['host'])
        self.assertHonest(server, body)

    def test_pinned_zone(self):
        # Booted in az1: nova itself keeps it there (placement's request
        # filter), before this package's zone rule would.
        server = self.boot(self.medium, 'host1', az='az1')
        body = self.explain(server)
        self.assertEqual('az1', body['server']['pinned_availability_zone'])
        (reason,) = self.by_host(body)['host4']['reasons']
        self.assertEqual('placement', reason['constraint'])
        self.assertEqual('map_az_to_placement_aggregate',
                         reason['details']['request_filter'])
        # host2 and host5 are alike: they share the first rank.
        self.assertEqual([('host2', 1), ('host5', 1)],
                         [(d['host'], d['rank'])
                          for d in body['destinations'][:2]])
        self.assertHonest(server, body)

    def test_anti_affinity_group(self):
        group = self.api.post_server_groups(
            {'name': 'web', 'policy': 'anti-affinity'})
        servers = []
        for host in ('host1', 'host2'):
            body = self._build_server(flavor_id=self.medium,
                                      networks='none', host=host)
            server = self.admin_api.post_server(
                {'server': body, 'os:scheduler_hints': {'group':
                                                        group['id']}})
            servers.append(self._wait_for_state_change(server, 'ACTIVE'))
        body = self.explain(servers[0])
        reason = self.by_host(body)['host2']['reasons'][0]
        self.assertEqual('nova:ServerGroupAntiAffinityFilter',
                         reason['constraint'])
        self.assertEqual('anti-affinity', reason['details']['policy'])
        self.assertIn('host2', reason['details']['member_hosts'])
        self.assertEqual('host5', body['destinations'][0]['host'])
        self.assertHonest(servers[0], body)


class DestinationsRefusalsTest(base.LivemigApiTestBase):
    """What the API refuses, each with nova's fault body."""

    def setUp(self):
        super().setUp()
        self.start_hosts({'host1': ('az1', 'nfs-a'),
                          'host2': ('az1', 'nfs-a')})
        self.server = self.boot(self.small, 'host1')

    def call_destinations(self, query='', server_id=None, api=None):
        return self.call(api or self.admin_api, '/servers/%s/destinations%s'
                         % (server_id or self.server['id'], query))

    def test_unknown_server_is_404(self):
        status, body = self.call_destinations(
            server_id=base.uuids.nothing)
        self.assertEqual(404, status)
        self.assertIn(base.uuids.nothing, body['itemNotFound']['message'])
        status, body = self.call_destinations(server_id='not-a-uuid')
        self.assertEqual(404, status)

    def test_unknown_host_is_404(self):
        status, body = self.call_destinations('?host=nohost')
        self.assertEqual(404, status, body)
        self.assertIn('Compute host nohost could not be found',
                      body['itemNotFound']['message'])

    def test_source_host_is_judged_ineligible(self):
        status, body = self.call_destinations('?host=host1')
        self.assertEqual(200, status, body)
        (destination,) = body['destinations']
        self.assertEqual(('host1', False), (destination['host'],
                                            destination['eligible']))
        self.assertEqual('conductor:source_host',
                         destination['reasons'][0]['constraint'])

    def test_bad_query_is_400(self):
        for query, name in (('?hots=x', 'hots'), ('?host=', 'host'),
                            ('?host=a&host=b', 'host')):
            status, body = self.call_destinations(query)
            self.assertEqual(400, status, body)
            self.assertIn(name, body['badRequest']['message'])

    def test_server_that_cannot_move_is_409(self):
        self.admin_api.post_server_action(self.server['id'],
                                          {'os-stop': None})
        self._wait_for_state_change(self.server, 'SHUTOFF')
        status, body = self.call_destinations()
        self.assertEqual(409, status, body)
        self.assertIn('its vm_state is stopped',
                      body['conflictingRequest']['message'])

    def test_source_host_down_is_409(self):
        self.computes['host1'].stop()
        self.admin_api.put_service_force_down(
            self.admin_api.get_services(host='host1',
                                        binary='nova-compute')[0]['id'],
            True)
        status, body = self.call_destinations()
        self.assertEqual(409, status, body)
        self.assertIn('is down (evacuate the server instead)',
                      body['conflictingRequest']['message'])

    def test_member_and_reader_are_forbidden(self):
        for roles in (['reader'], ['reader', 'member']):
            from nova.tests.functional.api import client
            api = client.TestOpenStackClient(
                'someone', self.api_fixture.base_url,
                project_id=self.server['tenant_id'], roles=roles)
            api.microversion = self.microversion
            status, body = self.call_destinations(api=api)
            self.assertEqual(403, status, body)
            self.assertIn('livemig_ext:servers:destinations',
                          body['forbidden']['message'])
