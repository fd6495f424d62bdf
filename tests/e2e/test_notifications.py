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

"""livemig_ext.live_migration.no_destination on the cloud's real RabbitMQ.

A notification listener of its own (oslo.messaging, a pool of its own so
that it takes nothing from other consumers) hears what the real
nova-scheduler sends when the plugin leaves no host for a live migration.
"""

import threading

from tests.e2e import base
from tests.e2e import target

EVENT = 'livemig_ext.live_migration.no_destination'


class TestNoDestinationNotification(base.E2ETestCase):

    def setUp(self):
        super().setUp()
        if not isinstance(self.target, target.LocalCloud) or isinstance(
                self.target, target.ExistingCloud):
            self.skipTest('listens on the local cloud\'s RabbitMQ')
        self.clear_hosts(self.source, self.peer, self.other_domain,
                         self.other_zone)

    def listen(self):
        """Start a listener; returns (event, list of (publisher, payload))."""
        from minicloud_lib import configs
        from oslo_config import cfg
        import oslo_messaging as messaging

        conf = cfg.ConfigOpts()
        conf([])
        transport = messaging.get_notification_transport(
            conf, url=configs.rabbit_url())
        heard = []
        arrived = threading.Event()

        class Endpoint:
            def warn(self, ctxt, publisher_id, event_type, payload,
                     metadata):
                if event_type == EVENT:
                    heard.append((publisher_id, payload))
                    arrived.set()

        listener = messaging.get_notification_listener(
            transport,
            [messaging.Target(topic='versioned_notifications',
                              exchange='nova')],
            [Endpoint()], executor='threading', pool='livemig-e2e')
        listener.start()

        def stop():
            listener.stop()
            listener.wait()
            transport.cleanup()
        self.addCleanup(stop)
        return arrived, heard

    def test_refused_move_is_notified(self):
        arrived, heard = self.listen()
        server = self.boot('e2e-notify', host=self.source)
        self.assertEqual(
            202, self.live_migrate(server, self.other_zone).status_code)
        self.assertEqual(self.source, self.settled(server).compute_host)
        self.assertTrue(arrived.wait(30), 'no %s within 30 s' % EVENT)
        (publisher, payload), = [h for h in heard
                                 if h[1].get('server_id') == server.id]
        self.assertTrue(publisher.startswith('nova-livemig-ext:'), publisher)
        self.assertEqual(
            (self.source, 'live-migration', 1, 1),
            (payload['source_host'], payload['kind'],
             payload['hosts_judged'], payload['hosts_rejected']))
        self.assertEqual(
            {'availability_zone'}, set(payload['rejections_by_rule']))
