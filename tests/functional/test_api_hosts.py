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

"""GET /os-livemig/hosts and /hosts/{host}: numbers agree with placement."""

import math

from keystoneauth1 import exceptions as ks_exc
import nova.conf
from nova import context as nova_context
from nova.db.main import api as main_db
from nova import objects
from oslo_db import exception as db_exc

from nova_livemig_ext.usage import hosts as host_usage
from nova_livemig_ext.usage import placement
from tests.functional import base

CONF = nova.conf.CONF
RESOURCE_CLASSES = ('VCPU', 'MEMORY_MB', 'DISK_GB')
CAP_OPTIONS = {'VCPU': 'vcpu_max_utilization',
               'MEMORY_MB': 'ram_max_utilization',
               'DISK_GB': 'disk_max_utilization'}


class HostsApiTest(base.LivemigApiTestBase):

    NUMBER_OF_CELLS = 2

    def setUp(self):
        super().setUp()
        self.start_hosts({'host1': ('az1', 'nfs-a'),
                          'host2': ('az1', 'nfs-a'),
                          'host3': ('az2', 'nfs-b'),
                          'host4': ('az2', 'nfs-b', 'cell2')})
        self.other = self.project_api('other-project')
        self.s1 = self.boot(self.medium, 'host1')
        self.s2 = self.boot(self.small, 'host1')
        body = self._build_server(flavor_id=self.large, networks='none',
                                  host='host1')
        self.s3 = self._wait_for_state_change(
            self.other.post_server({'server': body}), 'ACTIVE')

    def hosts(self, query=''):
        status, body = self.call(self.admin_api, '/hosts' + query)
        self.assertEqual(200, status, body)
        return body

    def assertMatchesPlacement(self, entry, caps=None):
        """Each resource entry is placement's numbers under the cap in force.

        :param caps: resource class -> (cap, aggregate) where an aggregate
            overrides the option.
        """
        inventories, usages = self.placement_numbers(entry['host'])
        for rc in RESOURCE_CLASSES:
            inv = inventories[rc]
            capacity = int((inv['total'] - inv['reserved']) *
                           inv['allocation_ratio'])
            cap, aggregate = (caps or {}).get(rc, (
                getattr(CONF.livemig_ext, CAP_OPTIONS[rc]), None))
            allowed = math.floor(cap * capacity)
            self.assertEqual(
                {'total': inv['total'], 'reserved': inv['reserved'],
                 'allocation_ratio': inv['allocation_ratio'],
                 'capacity': capacity, 'used': usages[rc],
                 'free': capacity - usages[rc],
                 'max_utilization': cap,
                 'max_utilization_aggregate': aggregate,
                 'allowed': allowed,
                 'room': max(allowed - usages[rc], 0)},
                entry['resources'][rc], (entry['host'], rc))

    def assertEveryHostMatchesPlacement(self):
        body = self.hosts()
        self.assertEqual(['host1', 'host2', 'host3', 'host4'],
                         [h['host'] for h in body['hosts']])
        for entry in body['hosts']:
            self.assertMatchesPlacement(entry)
            _, shown = self.call(self.admin_api, '/hosts/' + entry['host'])
            self.assertMatchesPlacement(shown['host'])
        return body

    def test_list_describes_every_host_of_every_cell(self):
        body = self.assertEveryHostMatchesPlacement()
        self.assertEqual([], body['unreachable_cells'])
        host1, host2, host3, host4 = body['hosts']
        self.assertEqual({'host', 'cell', 'availability_zone', 'aggregates',
                          'migration_domains', 'service', 'instances',
                          'resources'}, set(host1))
        self.assertEqual('cell1', host1['cell'])
        self.assertEqual('cell2', host4['cell'])
        self.assertEqual('az1', host1['availability_zone'])
        self.assertEqual(['az-az1', 'domain-nfs-a'], host1['aggregates'])
        self.assertEqual(['nfs-a'], host1['migration_domains'])
        self.assertEqual(['nfs-b'], host4['migration_domains'])
        self.assertEqual({'status': 'enabled', 'disabled_reason': None,
                          'state': 'up'}, host1['service'])
        self.assertEqual(3, host1['instances'])
        self.assertEqual(0, host2['instances'])
        self.assertEqual(1024 + 2048 + 3072,
                         host1['resources']['MEMORY_MB']['used'])

    def test_caps_come_from_the_options_and_the_lowest_override(self):
        # domain-nfs-a (host1, host2) caps RAM at 0.5, az-az1 (host1,
        # host2) at 0.7: the lowest wins. az-az1 caps DISK_GB so low that
        # host1's use passes it (room 0); az-az2 sets a value the
        # scheduler ignores as invalid.
        self.set_aggregate_metadata('domain-nfs-a', {
            'livemig_ram_max_utilization': '0.5'})
        self.set_aggregate_metadata('az-az1', {
            'livemig_ram_max_utilization': '0.7',
            'livemig_disk_max_utilization': '0.01'})
        self.set_aggregate_metadata('az-az2', {
            'livemig_vcpu_max_utilization': '1.5'})
        in_az1 = {'MEMORY_MB': (0.5, 'domain-nfs-a'),
                  'DISK_GB': (0.01, 'az-az1')}
        hosts = {h['host']: h for h in self.hosts()['hosts']}
        self.assertMatchesPlacement(hosts['host1'], in_az1)
        self.assertMatchesPlacement(hosts['host2'], in_az1)
        self.assertMatchesPlacement(hosts['host3'])
        self.assertMatchesPlacement(hosts['host4'])
        _, shown = self.call(self.admin_api, '/hosts/host1')
        self.assertMatchesPlacement(shown['host'], in_az1)
        disk = shown['host']['resources']['DISK_GB']
        self.assertEqual((30, 0), (disk['used'], disk['room']))
        self.assertLess(disk['allowed'], disk['used'])
        ram = hosts['host2']['resources']['MEMORY_MB']
        self.assertEqual((0, ram['allowed']), (ram['used'], ram['room']))
        self.assertEqual(int(ram['capacity'] * 0.5), ram['allowed'])

    def test_numbers_follow_live_migration_and_delete(self):
        self.live_migrate(self.s1, host='host2')
        self.assertEveryHostMatchesPlacement()
        self._delete_server(self.s2)
        self._wait_until_deleted(self.s2)
        body = self.assertEveryHostMatchesPlacement()
        self.assertEqual([1, 1], [h['instances'] for h in body['hosts'][:2]])

    def test_show_adds_projects_and_migrations(self):
        status, body = self.call(self.admin_api, '/hosts/host1')
        self.assertEqual(200, status, body)
        host = body['host']
        self.assertMatchesPlacement(host)
        self.assertEqual({'incoming': [], 'outgoing': []},
                         host['migrations'])
        self.assertEqual([], host['other_allocations'])
        rows = {row['project_id']: row for row in host['projects']}
        self.assertEqual(
            {'project_id': 'other-project', 'instances': 1, 'VCPU': 1,
             'MEMORY_MB': 3072, 'DISK_GB': 10}, rows['other-project'])
        mine = rows[self.s1['tenant_id']]
        self.assertEqual((2, 2, 3072, 20),
                         (mine['instances'], mine['VCPU'],
                          mine['MEMORY_MB'], mine['DISK_GB']))
        for rc in RESOURCE_CLASSES:
            self.assertEqual(host['resources'][rc]['used'],
                             sum(row[rc] for row in host['projects']))

    def test_projects_come_from_the_cell_not_instance_mappings(self):
        # An instance's project is read from its own record in its cell;
        # an instance mapping that nova failed to write changes nothing.
        _, before = self.call(self.admin_api, '/hosts/host1')
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            nova_context.get_admin_context(), self.s3['id'])
        mapping.destroy()
        _, after = self.call(self.admin_api, '/hosts/host1')
        self.assertEqual(before['host']['projects'],
                         after['host']['projects'])
        self.assertIn('other-project',
                      [row['project_id'] for row in after['host']['projects']])

    def test_show_separates_what_a_migration_holds(self):
        # A cold migration waiting for confirmation keeps the old flavor
        # held on the source by its migration record.
        self.api.post_server_action(self.s1['id'], {'migrate': {
            'host': 'host2'}})
        self._wait_for_state_change(self.s1, 'VERIFY_RESIZE')
        _, body = self.call(self.admin_api, '/hosts/host1')
        host = body['host']
        self.assertMatchesPlacement(host)
        (outgoing,) = host['migrations']['outgoing']
        self.assertEqual(
            {'server_id': self.s1['id'], 'source': 'host1',
             'dest': 'host2', 'status': 'finished',
             'migration_type': 'migration',
             'held': {'VCPU': 1, 'MEMORY_MB': 2048, 'DISK_GB': 10}},
            {k: v for k, v in outgoing.items() if k != 'id'})
        # The migration's hold is its own, not also another consumer's.
        self.assertEqual([], host['other_allocations'])
        for rc in RESOURCE_CLASSES:
            self.assertEqual(
                host['resources'][rc]['used'],
                sum(row[rc] for row in host['projects']) +
                outgoing['held'][rc])
        _, body = self.call(self.admin_api, '/hosts/host2')
        self.assertMatchesPlacement(body['host'])
        (incoming,) = body['host']['migrations']['incoming']
        # The server is host2's now: its project row counts it.
        self.assertEqual({}, incoming['held'])

    def test_show_names_what_no_instance_or_move_holds(self):
        # An allocation nova left behind on host1 for a consumer that is
        # neither an instance on host1 nor a move (an instance that went
        # to ERROR before it reached a host, say): placement counts it as
        # used, and show names it apart from the project rows.
        rp_uuid = self._get_provider_uuid_by_host('host1')
        leaked = {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1}
        self.placement.put('/allocations/%s' % base.uuids.leaked, {
            'allocations': {rp_uuid: {'resources': leaked}},
            'project_id': 'gone', 'user_id': 'gone',
            'consumer_generation': None}, version='1.28')
        _, body = self.call(self.admin_api, '/hosts/host1')
        host = body['host']
        self.assertMatchesPlacement(host)
        self.assertEqual([{'consumer_id': base.uuids.leaked, 'held': leaked}],
                         host['other_allocations'])
        self.assertEqual(3, sum(row['instances'] for row in host['projects']))
        for rc in RESOURCE_CLASSES:
            self.assertEqual(host['resources'][rc]['used'],
                             sum(row[rc] for row in host['projects']) +
                             leaked[rc])

    def test_filters_and_paging(self):
        def names(query):
            return [h['host'] for h in self.hosts(query)['hosts']]
        self.assertEqual(['host3', 'host4'],
                         names('?availability_zone=az2'))
        self.assertEqual(['host1', 'host2'], names('?aggregate=domain-nfs-a'))
        self.assertEqual(['host3', 'host4'],
                         names('?migration_domain=nfs-b'))
        self.assertEqual(['host3'], names('?migration_domain=nfs-b&limit=1'))
        # An existing zone without hosts lists none; a filter value that
        # names nothing in the cloud is a 400 naming it.
        self.assertEqual([], names('?availability_zone=az2&aggregate=az-az1'))
        for query, named in (
                ('?availability_zone=nowhere',
                 'availability_zone=nowhere: no availability zone of that '
                 'name; known: az1, az2, nova.'),
                ('?aggregate=nosuchagg', 'aggregate=nosuchagg: no aggregate'),
                ('?migration_domain=nfs-z&availability_zone=az1',
                 'migration_domain=nfs-z: no migration domain of that '
                 'name; known: nfs-a, nfs-b.')):
            status, body = self.call(self.admin_api, '/hosts' + query)
            self.assertEqual(400, status, query)
            self.assertIn(named, body['badRequest']['message'])
        body = self.hosts('?limit=2')
        self.assertEqual(['host1', 'host2'],
                         [h['host'] for h in body['hosts']])
        self.assertIn('marker=host2', body['hosts_links'][0]['href'])
        self.assertEqual(['host3', 'host4'], names('?marker=host2'))

    def test_bad_queries_are_400_naming_the_parameter(self):
        for query, fragment in (('?limit=abc', 'limit=abc'),
                                ('?limit=-1', 'limit=-1'),
                                ('?marker=nohost', 'marker=nohost'),
                                ('?zone=az1', 'Unknown query parameter zone'),
                                ('?aggregate=', 'aggregate')):
            status, body = self.call(self.admin_api, '/hosts' + query)
            self.assertEqual(400, status, query)
            self.assertIn(fragment, body['badRequest']['message'])
        status, body = self.call(self.admin_api, '/hosts/host1?x=1')
        self.assertEqual(400, status)

    def counted(self, path):
        """Statements, transactions and placement requests of one GET."""
        with base.RoundTrips() as trips:
            self.admin_api.api_request('os-livemig' + path,
                                       check_response_status=[200])
        return {'sql': trips.sql, 'transactions': trips.transactions,
                'placement': trips.placement}

    def test_round_trips_do_not_grow_with_hosts_or_instances(self):
        paths = ('/hosts', '/hosts/host1', '/hosts/host1/servers')
        self.quiet_services()
        for path in paths:
            self.counted(path)  # reads the hosts' inventories
        before = [self.counted(path) for path in paths]
        self.start_hosts({'host5': ('az1', 'nfs-a'),
                          'host6': ('az2', 'nfs-b', 'cell2')})
        for host in ('host1', 'host2', 'host5', 'host6'):
            self.boot(self.small, host)
        self.live_migrate(self.s2, host='host2')
        self.quiet_services()
        for path in paths:
            self.counted(path)
        after = [self.counted(path) for path in paths]
        self.assertEqual(before, after)
        # One transaction on the API database and one per cell, whatever
        # the cells hold; one placement request for what is in use.
        self.assertEqual([{'sql': 11, 'transactions': 3, 'placement': 1},
                          {'sql': 8, 'transactions': 2, 'placement': 1},
                          {'sql': 4, 'transactions': 2, 'placement': 0}],
                         after)

    def test_inventories_read_ahead_spare_the_first_listing(self):
        self.quiet_services()
        placement.INVENTORIES.clear()
        cold = self.counted('/hosts')
        # Every host's inventory and one request for the usages.
        self.assertEqual(4 + 1, cold['placement'])
        placement.INVENTORIES.clear()
        placement.INVENTORIES.prime(host_usage.compute_node_uuids).join(60)
        self.assertEqual(1, self.counted('/hosts')['placement'])
        self.assertEveryHostMatchesPlacement()

    def test_unknown_host_is_404(self):
        status, body = self.call(self.admin_api, '/hosts/nohost')
        self.assertEqual(
            (404, {'itemNotFound': {
                'code': 404,
                'message': 'Compute host nohost could not be found.'}}),
            (status, body))

    def test_service_state(self):
        service = self.admin_api.get_services(
            host='host2', binary='nova-compute')[0]
        self.admin_api.put_service(service['id'], {
            'status': 'disabled', 'disabled_reason': 'maintenance'})
        self.admin_api.put_service_force_down(service['id'], True)
        _, body = self.call(self.admin_api, '/hosts/host2')
        self.assertEqual({'status': 'disabled',
                          'disabled_reason': 'maintenance',
                          'state': 'down'}, body['host']['service'])

    def down_cell(self, name):
        """Make the database of one cell refuse every connection.

        As when it is unreachable: every read of that cell fails, whoever
        makes it.
        """
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(ctxt, self.cell_mappings[name]) as cctxt:
            manager = main_db.get_context_manager(cctxt)
            engines = {manager.reader.get_engine(),
                       manager.writer.get_engine()}
        for engine in engines:
            self.useFixture(base.fixtures.MockPatchObject(
                engine, 'connect', side_effect=db_exc.DBConnectionError(
                    'cell database is down')))

    def test_down_cell_is_named_not_a_500(self):
        self.down_cell('cell2')
        body = self.hosts()
        self.assertEqual(['host1', 'host2', 'host3'],
                         [h['host'] for h in body['hosts']])
        self.assertEqual(['cell2'], body['unreachable_cells'])
        status, body = self.call(self.admin_api, '/hosts/host4')
        self.assertEqual(503, status)
        self.assertIn('cell2', body['serviceUnavailable']['message'])

    def test_placement_unreachable_is_503(self):
        # Placement is a remote service: make it unreachable.
        client = base.mock.Mock()
        client.get.side_effect = ks_exc.ConnectFailure('connection refused')
        self.useFixture(base.fixtures.MockPatch(
            'nova.scheduler.client.report.report_client_singleton',
            return_value=client))
        for path in ('/hosts', '/hosts/host1'):
            status, body = self.call(self.admin_api, path)
            self.assertEqual(503, status, path)
            self.assertIn('Placement cannot be reached',
                          body['serviceUnavailable']['message'])

    def test_member_and_reader_are_forbidden(self):
        fixture = self.api_fixture
        for path, rule in (('/hosts', 'livemig_ext:hosts:list'),
                           ('/hosts/host1', 'livemig_ext:hosts:show')):
            for api in (fixture.api, fixture.reader_api):
                status, body = self.call(api, path)
                self.assertEqual(403, status)
                self.assertIn(rule, body['forbidden']['message'])

    def test_malformed_requests_never_give_500(self):
        paths = ['/hosts?', '/hosts?limit=', '/hosts?marker=', '/hosts/%00',
                 '/hosts/%ff', '/hosts/' + 'h' * 300, '/hosts/host1/x',
                 '/hosts?availability_zone=%ff', '/hosts?limit=1e3',
                 '/hosts?limit=1&marker=host1&marker=host2', '/hosts/..',
                 '/hosts/host1?limit=1']
        for path in paths:
            for method in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE'):
                status, _ = self.call(self.admin_api, path, method=method)
                self.assertGreaterEqual(status, 200, (method, path))
                self.assertLess(status, 500, (method, path))
