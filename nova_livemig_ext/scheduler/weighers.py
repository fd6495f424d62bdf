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

"""VacantResourceWeigher: rank live-migration destinations by headroom.

Enable it in nova.conf, on one line (``weight_classes`` is a single
comma-separated list: a second ``weight_classes`` line replaces the first)::

    [filter_scheduler]
    weight_classes = nova.scheduler.weights.all_weighers,WEIGHER

where WEIGHER is ``nova_livemig_ext.scheduler.weighers.VacantResourceWeigher``.
"""

import nova.conf
from nova.scheduler import weights
from oslo_log import log as logging

from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext.constraints import migration_domain
from nova_livemig_ext.scheduler import moves

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
livemig_conf.register_opts(CONF)

# Raw weights, before nova normalises them to [0, 1]:
# - headroom is at most 1 (a cap of 1 on an empty host);
# - a host whose usage is unknown ranks below every known one;
# - weights of known hosts are clamped to [-2, 2];
# - in ``preferred`` domain mode, same-domain hosts rank above all others.
_CLAMP = 2.0
_UNKNOWN = -3.0
_SAME_DOMAIN_BONUS = 10.0
MULTIPLIER_KEY = 'livemig_weigher_multiplier'


def pack_weight(headroom):
    """Least headroom that still fits first; hosts that do not fit last."""
    return 1.0 - headroom if headroom >= 0 else headroom - 1.0


def spread_weight(headroom):
    """Most headroom first."""
    return headroom


class VacantResourceWeigher(weights.BaseHostWeigher):
    """Weigh live-migration destinations by headroom after the move.

    ``[livemig_ext] weigher_strategy`` ``spread`` favours the host with the
    most headroom, ``pack`` the one with the least headroom that still fits.
    Requests other than judged moves get a weight of 0 from this weigher.
    """

    def __init__(self):
        super().__init__()
        self._config = livemig_conf.load(CONF)
        self._weight = (pack_weight
                        if self._config.settings.weigher_strategy ==
                        livemig_conf.PACK else spread_weight)

    def weight_multiplier(self, host_state):
        """The option, or the lowest aggregate override of the host.

        The aggregate metadata key is ``livemig_weigher_multiplier``.
        """
        values = []
        for aggregate in host_state.aggregates or ():
            raw = aggregate.metadata.get(MULTIPLIER_KEY)
            if raw is None:
                continue
            try:
                values.append(float(raw))
            except ValueError:
                LOG.warning('Ignoring %(key)s=%(raw)s of aggregate %(agg)s: '
                            'not a number',
                            {'key': MULTIPLIER_KEY, 'raw': raw,
                             'agg': aggregate.name})
        return min(values) if values else self._config.weigher_multiplier

    def _weigh_object(self, host_state, weight_properties):
        # NOTE: unused, weigh_objects judges the whole request at once.
        return 0.0

    def weigh_objects(self, weighed_obj_list, spec_obj):
        host_states = [weighed.obj for weighed in weighed_obj_list]
        try:
            request = moves.judged_move(self._config, spec_obj)
            if request is None:
                return [0.0] * len(host_states)
            views = request.host_views(host_states, with_usage=True)
        except Exception:
            LOG.exception('VacantResourceWeigher could not weigh hosts for '
                          'server %s; giving them all the same weight',
                          spec_obj.instance_uuid)
            return [0.0] * len(host_states)
        prefer_domain = (self._config.settings.migration_domain_mode ==
                         livemig_conf.PREFERRED)
        headroom_of = request.headroom
        to_weight = self._weight
        move = request.move
        result = []
        for view in views:
            headroom = headroom_of(view)
            if headroom is None:
                weight = _UNKNOWN
            else:
                weight = max(-_CLAMP, min(_CLAMP, to_weight(headroom)))
            if prefer_domain and migration_domain.same_domain(move, view):
                weight += _SAME_DOMAIN_BONUS
            result.append(weight)
        return result
