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

"""Live migrations through the real scheduler with the plugin enabled."""

from tests.e2e import base

# ram_max_utilization of the local cloud and of the devstack plugin.
RAM_CAP = 0.9


class TestLiveMigration(base.E2ETestCase):

    def setUp(self):
        super().setUp()
        # Every test starts from empty hosts: the demo's servers could
        # otherwise fill a host before the plugin is asked about it.
        self.clear_hosts(self.source, self.peer, self.other_domain,
                         self.other_zone)

    def test_scheduler_keeps_zone_and_domain(self):
        server = self.boot('e2e-move', 'm1.medium', host=self.source)
        mark = self.scheduler_log_mark()
        response = self.live_migrate(server)
        self.assertEqual(202, response.status_code, response.text)
        server = self.settled(server)
        self.assertEqual((self.peer, 'ACTIVE'),
                         (server.compute_host, server.status))
        log = self.scheduler_log_since(mark)
        # The plugin judged the request in the real nova-scheduler.
        self.assertIn('%s rejected for live-migration of %s: '
                      'migration_domain' % (self.other_domain, server.id),
                      log)
        self.assertIn('%s rejected for live-migration of %s: '
                      'availability_zone' % (self.other_zone, server.id),
                      log)
        self.assert_hosts_match_placement()
        # And back: the only eligible host is the first one again.
        self.assertEqual(202, self.live_migrate(server).status_code)
        self.assertEqual(self.source, self.settled(server).compute_host)
        self.assert_hosts_match_placement()

    def assert_refused(self, server, host, constraint):
        mark = self.scheduler_log_mark()
        response = self.live_migrate(server, host)
        self.assertEqual(202, response.status_code, response.text)
        server = self.settled(server)
        self.assertEqual((self.source, 'ACTIVE'),
                         (server.compute_host, server.status))
        migration = self.last_migration(server)
        self.assertEqual(('error', 'live-migration'),
                         (migration['status'], migration['migration_type']))
        self.assertIn('No destination for live-migration of server %s from '
                      '%s' % (server.id, self.source),
                      self.scheduler_log_since(mark))
        self.assertIn('%s rejected for live-migration of %s: %s' % (
            host or self.peer, server.id, constraint),
            self.scheduler_log_since(mark))

    def test_named_host_in_another_zone_is_refused(self):
        server = self.boot('e2e-zone', host=self.source)
        self.assert_refused(server, self.other_zone, 'availability_zone')

    def test_named_host_on_other_storage_is_refused(self):
        server = self.boot('e2e-domain', host=self.source)
        self.assert_refused(server, self.other_domain, 'migration_domain')

    def test_headroom_is_kept_where_placement_would_accept(self):
        server = self.boot('e2e-headroom', 'm1.medium', host=self.source)
        used = self.placement_usage()[self.peer].get('MEMORY_MB', 0)
        capacity_mb = self.livemig('/hosts/' + self.peer).json()['host'][
            'resources']['MEMORY_MB']['capacity']
        demand = self.compute.find_flavor('m1.medium').ram
        # Fill the peer so that the move would end between the 90 % cap
        # and placement's capacity: placement accepts it, the plugin not.
        filler_mb = int(RAM_CAP * capacity_mb) + 256 - demand - used
        self.assertGreater(filler_mb, 0)
        self.assertLessEqual(used + filler_mb + demand, capacity_mb)
        flavor = self.compute.find_flavor('e2e.filler')
        if flavor is None or flavor.ram != filler_mb:
            if flavor is not None:
                self.compute.delete_flavor(flavor)
            self.compute.create_flavor(name='e2e.filler', vcpus=1,
                                       ram=filler_mb, disk=1)
        self.boot('e2e-filler', 'e2e.filler', host=self.peer)
        self.assert_refused(server, None, 'vacant_resources')
        self.assert_hosts_match_placement()
