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

CAPACITY_MB = 7680      # 8192 MB less nova's 512 MB reserved, ratio 1.0
RAM_CAP = 0.9           # ram_max_utilization of the local cloud


class TestLiveMigration(base.E2ETestCase):

    def setUp(self):
        super().setUp()
        self.clear_hosts(base.SOURCE, base.PEER)

    def test_scheduler_keeps_zone_and_domain(self):
        server = self.boot('e2e-move', 'm1.medium', host=base.SOURCE)
        offset = self.scheduler_log_size()
        response = self.live_migrate(server)
        self.assertEqual(202, response.status_code, response.text)
        server = self.settled(server)
        self.assertEqual((base.PEER, 'ACTIVE'),
                         (server.compute_host, server.status))
        log = self.scheduler_log_since(offset)
        # The plugin judged the request in the real nova-scheduler.
        self.assertIn('%s rejected for live-migration of %s: '
                      'migration_domain' % (base.OTHER_DOMAIN, server.id),
                      log)
        self.assertIn('%s rejected for live-migration of %s: '
                      'availability_zone' % (base.OTHER_ZONE, server.id),
                      log)
        self.assert_hosts_match_placement()
        # And back: the only eligible host is the first one again.
        self.assertEqual(202, self.live_migrate(server).status_code)
        self.assertEqual(base.SOURCE, self.settled(server).compute_host)
        self.assert_hosts_match_placement()

    def assert_refused(self, server, host, constraint):
        offset = self.scheduler_log_size()
        response = self.live_migrate(server, host)
        self.assertEqual(202, response.status_code, response.text)
        server = self.settled(server)
        self.assertEqual((base.SOURCE, 'ACTIVE'),
                         (server.compute_host, server.status))
        migration = self.last_migration(server)
        self.assertEqual(('error', 'live-migration'),
                         (migration['status'], migration['migration_type']))
        self.assertIn('No destination for live-migration of server %s from '
                      '%s' % (server.id, base.SOURCE),
                      self.scheduler_log_since(offset))
        self.assertIn('%s rejected for live-migration of %s: %s' % (
            host or base.PEER, server.id, constraint),
            self.scheduler_log_since(offset))

    def test_named_host_in_another_zone_is_refused(self):
        server = self.boot('e2e-zone', host=base.SOURCE)
        self.assert_refused(server, base.OTHER_ZONE, 'availability_zone')

    def test_named_host_on_other_storage_is_refused(self):
        server = self.boot('e2e-domain', host=base.SOURCE)
        self.assert_refused(server, base.OTHER_DOMAIN, 'migration_domain')

    def test_headroom_is_kept_where_placement_would_accept(self):
        server = self.boot('e2e-headroom', 'm1.medium', host=base.SOURCE)
        used = self.placement_usage()[base.PEER].get('MEMORY_MB', 0)
        # Fill the peer so that the move would end between the 90 % cap
        # and placement's capacity: placement accepts it, the plugin not.
        filler_mb = int(RAM_CAP * CAPACITY_MB) + 256 - 4096 - used
        self.assertGreater(filler_mb, 0)
        self.assertLessEqual(used + filler_mb + 4096, CAPACITY_MB)
        flavor = self.compute.find_flavor('e2e.filler')
        if flavor is None or flavor.ram != filler_mb:
            if flavor is not None:
                self.compute.delete_flavor(flavor)
            self.compute.create_flavor(name='e2e.filler', vcpus=1,
                                       ram=filler_mb, disk=1)
        self.boot('e2e-filler', 'e2e.filler', host=base.PEER)
        self.assert_refused(server, None, 'vacant_resources')
        self.assert_hosts_match_placement()
