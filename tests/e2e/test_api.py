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

"""The API extension in the real nova-api, behind real keystone tokens."""

import re
import time
import uuid

import keystoneauth1.session

from tests.e2e import base
from tests.e2e import target


class TestApiThroughKeystone(base.E2ETestCase):

    def test_admin_lists_every_host_with_zone_and_domain(self):
        response = self.livemig('/hosts')
        self.assertEqual(200, response.status_code, response.text)
        hosts = {h['host']: h for h in response.json()['hosts']}
        self.assertEqual(
            {s.host for s in self.compute.services(binary='nova-compute')},
            set(hosts))
        roles = self.target.hosts(self.admin)
        for role, host in target.TOPOLOGY.items():
            shown = hosts[roles[role]]
            self.assertEqual(host.availability_zone,
                             shown['availability_zone'])
            self.assertIn(host.migration_domain, shown['migration_domains'])
            vcpu = shown['resources']['VCPU']
            self.assertEqual((vcpu['total'] - vcpu['reserved']) *
                             vcpu['allocation_ratio'], vcpu['capacity'])
        self.assertEqual([], response.json()['unreachable_cells'])

    def test_member_is_forbidden_with_a_fault_body(self):
        member = self.member()
        for path in ('/hosts', '/hosts/' + self.source,
                     '/hosts/%s/servers' % self.source):
            response = self.livemig(path, session=member.session)
            self.assertEqual(403, response.status_code, path)
            fault = response.json()['forbidden']
            self.assertEqual(403, fault['code'])
            self.assertIn('livemig_ext:hosts', fault['message'])

    def assert_unauthorized(self, response):
        # keystone's authtoken refused it; the answer is nova's fault body.
        self.assertEqual(401, response.status_code)
        fault = response.json()['unauthorized']
        self.assertEqual(401, fault['code'])
        self.assertIn('requires authentication', fault['message'])
        self.assertIn('Keystone uri=', response.headers['WWW-Authenticate'])

    def test_no_token_is_401(self):
        anonymous = keystoneauth1.session.Session()
        self.assert_unauthorized(
            anonymous.get(self.api + '/hosts', raise_exc=False))

    def test_a_forged_token_is_401(self):
        self.assert_unauthorized(self.livemig(
            '/hosts', session=keystoneauth1.session.Session(),
            headers={'X-Auth-Token': 'gAAAAA-forged'}))

    def test_unknown_host_is_404_naming_it(self):
        response = self.livemig('/hosts/no-such-host-9')
        self.assertEqual(404, response.status_code)
        self.assertIn('no-such-host-9',
                      response.json()['itemNotFound']['message'])

    def test_every_host_matches_placement(self):
        """Runs first among the tests: right after the demo's moves."""
        self.assert_hosts_match_placement()

    def test_show_names_an_allocation_nothing_on_the_host_accounts_for(self):
        # As nova leaves one behind for a server that goes to ERROR before
        # it reaches a host: a consumer that is no instance and no move.
        hypervisor = self.compute.get(
            '/os-hypervisors/detail', microversion='2.53').json()[
                'hypervisors'][0]
        host, rp_uuid = hypervisor['service']['host'], hypervisor['id']
        consumer = str(uuid.uuid4())
        held = {'VCPU': 1, 'MEMORY_MB': 128, 'DISK_GB': 1}
        placement = self.admin.placement
        response = placement.put('/allocations/' + consumer, json={
            'allocations': {rp_uuid: {'resources': held}},
            'project_id': self.admin.current_project_id,
            'user_id': self.admin.current_user_id,
            'consumer_generation': None}, microversion='1.28')
        self.assertEqual(204, response.status_code, response.text)
        self.addCleanup(placement.delete, '/allocations/' + consumer,
                        microversion='1.28')
        shown = self.livemig('/hosts/' + host).json()['host']
        self.assertIn({'consumer_id': consumer, 'held': held},
                      shown['other_allocations'])
        self.assert_hosts_match_placement()


class TestInventoryReadAhead(base.E2ETestCase):
    """nova-api reads the hosts' inventories ahead when it starts."""

    READ_AHEAD = re.compile(r'Read (\d+) placement inventories ahead')

    def test_restarted_nova_api_reads_every_inventory_ahead(self):
        mark = self.target.log_mark('nova-api')
        self.target.restart_api()
        deadline = time.monotonic() + 60
        found = None
        while found is None and time.monotonic() < deadline:
            found = self.READ_AHEAD.search(
                self.target.log_since(mark, 'nova-api'))
            time.sleep(0.5)
        self.assertIsNotNone(found, 'no read-ahead in the nova-api log')
        # Every compute node of every cell, through the real placement.
        self.assertEqual(len(list(self.compute.hypervisors())),
                         int(found.group(1)))
        self.assert_hosts_match_placement()
