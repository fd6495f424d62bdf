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

"""Notifications of the plugin, on nova's versioned notification transport.

``livemig_ext.live_migration.no_destination`` (priority ``WARN``,
publisher ``nova-livemig-ext:<host>``) is emitted when
LiveMigrationDestinationFilter leaves no host for a judged move. It goes
through nova's own versioned notifier, so nova's ``[notifications]`` and
``[oslo_messaging_notifications]`` settings (driver, transport URL,
topics, ``notification_format``) decide whether and where it is sent.

Sending never slows or fails the scheduling request: the request puts the
notification on a bounded queue and one background thread per process
sends it; when the queue is full the notification is dropped and logged.
A transport that fails is logged once, until a send succeeds again.
"""

import queue
import threading

import nova.conf
from nova import rpc
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

PUBLISHER = 'nova-livemig-ext'
NO_DESTINATION = 'livemig_ext.live_migration.no_destination'
# Bumped on a change of the payload: minor for added fields, major for
# removed or changed ones.
PAYLOAD_VERSION = '1.0'
QUEUE_SIZE = 100


def no_destination_payload(move, summary):
    """The payload of ``livemig_ext.live_migration.no_destination``.

    :param move: the :class:`constraints.base.Move` that found no host.
    :param summary: the :class:`constraints.Summary` of the request.
    """
    return {
        'payload_version': PAYLOAD_VERSION,
        'server_id': move.server_id,
        'source_host': move.source.name,
        'kind': move.kind,
        # The hosts that reached the filter: placement and nova's filters
        # before it had accepted them.
        'hosts_judged': summary.hosts,
        'hosts_rejected': summary.rejected_hosts,
        'hosts_not_judged': summary.errors,
        'rejections_by_rule': {
            name: {'hosts': count,
                   'example': {'host': summary.examples[name].host,
                               'reason': summary.examples[name].reason}}
            for name, count in sorted(summary.counts.items())},
    }


class _Sender:
    """One background thread per process that sends notifications."""

    def __init__(self):
        self._queue = None
        self._lock = threading.Lock()
        self._failing = False

    def submit(self, notifier, ctxt, event_type, payload):
        with self._lock:
            if self._queue is None:
                self._queue = queue.Queue(maxsize=QUEUE_SIZE)
                threading.Thread(target=self._run, args=(self._queue,),
                                 name='livemig-notifications',
                                 daemon=True).start()
        try:
            self._queue.put_nowait((notifier, ctxt, event_type, payload))
        except queue.Full:
            LOG.warning('Dropped notification %s of server %s: %d are '
                        'waiting to be sent', event_type,
                        payload.get('server_id'), QUEUE_SIZE)

    def _run(self, todo):
        while True:
            notifier, ctxt, event_type, payload = todo.get()
            try:
                notifier.warn(ctxt, event_type, payload)
            except Exception:
                if not self._failing:
                    LOG.exception('Could not send notification %s; further '
                                  'failures are not logged until one is '
                                  'sent', event_type)
                self._failing = True
            else:
                if self._failing:
                    LOG.info('Notifications are sent again')
                self._failing = False
            finally:
                todo.task_done()

    def flush(self):
        """Wait until what was submitted is sent (for tests and tools)."""
        pending = self._queue
        if pending is not None:
            pending.join()


SENDER = _Sender()


def notify_no_destination(ctxt, move, summary):
    """Emit ``no_destination`` for ``move``; never raises."""
    try:
        if rpc.NOTIFIER is None:
            # nova's RPC layer is not set up (a tool, not a service).
            return
        notifier = rpc.get_versioned_notifier(
            '%s:%s' % (PUBLISHER, CONF.host))
        SENDER.submit(notifier, ctxt, NO_DESTINATION,
                      no_destination_payload(move, summary))
    except Exception:
        LOG.exception('Could not queue notification %s for server %s',
                      NO_DESTINATION, move.server_id)
