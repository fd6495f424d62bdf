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

"""livemig_ext.live_migration.no_destination through nova's notifier.

nova's NotificationFixture stands in for the message bus (its fake
versioned notifier records what nova's notifier is handed).
"""

from nova_livemig_ext import notifications
from tests.functional import base
from tests.functional import test_live_migration

# Four computes in two zones and two migration domains.
LAYOUT = test_live_migration.LAYOUT


class NoDestinationNotificationTest(base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)
        # host2 beyond the 0.9 cap for a medium server, not beyond
        # placement: 3072 + 2048 + 2048 = 7168 > 6912.
        self.boot(self.large, 'host2')
        self.boot(self.medium, 'host2')

    def sent(self):
        notifications.SENDER.flush()
        return [n for n in self.notifier.versioned_notifications
                if n['event_type'] == notifications.NO_DESTINATION]

    def test_refused_move_is_notified_with_counts_per_rule(self):
        server = self.boot(self.medium, 'host1')
        self.live_migrate_fails(server)
        (sent,) = self.sent()
        self.assertEqual('WARN', sent['priority'])
        self.assertEqual('nova-livemig-ext:%s' % base.CONF.host,
                         sent['publisher_id'])
        payload = sent['payload']
        self.assertEqual(
            {'payload_version': '1.0', 'server_id': server['id'],
             'source_host': 'host1', 'kind': 'live-migration',
             'hosts_judged': 3, 'hosts_rejected': 3, 'hosts_not_judged': 0},
            {k: v for k, v in payload.items()
             if k != 'rejections_by_rule'})
        rules = payload['rejections_by_rule']
        self.assertEqual(
            {'availability_zone': 1, 'migration_domain': 1,
             'vacant_resources': 1},
            {name: rule['hosts'] for name, rule in rules.items()})
        self.assertEqual(
            {'host': 'host2',
             'reason': 'MEMORY_MB: requested 2048, allowed after the move '
                       '1792 of capacity 7680 at 0.9 (used 5120)'},
            rules['vacant_resources']['example'])

    def test_no_notification_when_a_host_is_found(self):
        # 5120 + 1024 = 6144 <= 6912: host2 takes a small server.
        server = self.boot(self.small, 'host1')
        self.live_migrate(server)
        self.assertEqual([], self.sent())

    def test_broken_transport_neither_fails_nor_slows_the_request(self):
        import threading
        sending = threading.Event()
        released = threading.Event()
        done = threading.Event()

        def send(*args, **kwargs):
            sending.set()
            released.wait(60)
            done.set()
            raise ConnectionError('the message bus is gone')

        bus = base.mock.Mock()
        bus.warn.side_effect = send
        self.useFixture(base.fixtures.MockPatchObject(
            notifications.rpc, 'get_versioned_notifier', return_value=bus))
        self.useFixture(base.fixtures.MockPatchObject(
            notifications.SENDER, '_failing', False))
        for _ in range(2):
            server = self.boot(self.medium, 'host1')
            self.live_migrate_fails(server)
            # The refusal came back while its notification was being sent.
            self.assertTrue(sending.wait(10))
            self.assertFalse(done.is_set())
        released.set()
        notifications.SENDER.flush()
        self.assertEqual(2, bus.warn.call_count)
        self.assertEqual(2, self.log_output().count(
            'No destination for live-migration of server'))
        # Logged once for the two failed sends.
        self.assertEqual(1, self.log_output().count(
            'Could not send notification %s' % notifications.NO_DESTINATION))
