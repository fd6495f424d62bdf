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

"""LiveMigrationDestinationFilter: where may a live-migrating server go?

Enable it in nova.conf (``[filter_scheduler]``): add this module's
``LiveMigrationDestinationFilter`` to ``available_filters`` (beside
``nova.scheduler.filters.all_filters``) and to ``enabled_filters``.
"""

import nova.conf
from nova.scheduler import filters
from oslo_log import log as logging

from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext.constraints import Summary
from nova_livemig_ext import notifications
from nova_livemig_ext.scheduler import moves

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
livemig_conf.register_opts(CONF)


class LiveMigrationDestinationFilter(filters.BaseHostFilter):
    """Judge live migrations (and optionally evacuations) by constraints.

    Other requests pass untouched. The filter keeps nothing but its
    validated configuration between requests; everything read for a
    request lives on that request.
    """

    # Judging happens once per request in filter_all.
    run_filter_once_per_request = True

    def __init__(self):
        super().__init__()
        # NOTE: raises InvalidOption when nova-scheduler loads the filter,
        # so a bad value stops the service at start.
        self._config = livemig_conf.load(CONF)

    def host_passes(self, host_state, spec_obj):
        """Judge a single host (nova calls filter_all; kept for tools)."""
        return bool(self.filter_all([host_state], spec_obj))

    def filter_all(self, filter_obj_list, spec_obj):
        host_states = list(filter_obj_list)
        if not host_states:
            return host_states
        try:
            request = moves.judged_move(self._config, spec_obj)
            if request is None:
                return host_states
            judged = request.judge(host_states)
        except Exception:
            # NOTE: never raise into the scheduler: a request that cannot
            # be judged gets no destination and the server stays put.
            LOG.exception('LiveMigrationDestinationFilter could not judge '
                          'the request for server %s; rejecting all %d '
                          'hosts', spec_obj.instance_uuid, len(host_states))
            return []
        return self._judge(request, judged)

    def _judge(self, request, judged):
        move = request.move
        summary = Summary()
        passed = []
        failure = None
        for host_state, view, rejections, error in judged:
            if error is not None:
                failure = failure or error
                summary.add_error()
                continue
            summary.add(rejections)
            if rejections:
                LOG.debug('%(host)s rejected for %(kind)s of %(server)s: '
                          '%(why)s',
                          {'host': view.name, 'kind': move.kind,
                           'server': move.server_id,
                           'why': '; '.join(str(r) for r in rejections)})
            else:
                passed.append(host_state)
        if failure is not None:
            LOG.error('LiveMigrationDestinationFilter failed to judge %d '
                      'hosts for server %s and rejected them: %s',
                      summary.errors, move.server_id, failure,
                      exc_info=failure)
        if passed:
            LOG.debug('%(kind)s of %(server)s from %(source)s: %(summary)s',
                      {'kind': move.kind, 'server': move.server_id,
                       'source': move.source.name, 'summary': summary})
        else:
            LOG.warning('No destination for %(kind)s of server %(server)s '
                        'from %(source)s: %(summary)s',
                        {'kind': move.kind, 'server': move.server_id,
                         'source': move.source.name, 'summary': summary})
            notifications.notify_no_destination(request.ctxt, move, summary)
        return passed
