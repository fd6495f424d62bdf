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

"""Translate nova's RequestSpec and HostStates into the engine's plain data.

Shared by the filter and the weigher. Which request is a judged move is
not flagged by nova; see :func:`judged_move` for the signals used.
"""

from nova.scheduler import utils as scheduler_utils
from oslo_log import log as logging

from nova_livemig_ext.constraints import base
from nova_livemig_ext.constraints import vacant_resources
from nova_livemig_ext import usage

LOG = logging.getLogger(__name__)

# The attribute under which a request's data is kept on its RequestSpec, so
# that the weigher reuses what the filter read for the same request. A
# RequestSpec lives for one scheduling request in nova-scheduler (it is
# rebuilt from the RPC message each time), and this is not an object field,
# so it is never saved nor sent anywhere.
_MEMO = '_livemig_ext_request'
_NOT_JUDGED = object()


class JudgedRequest:
    """One judged move and the data read for it; lives for one request."""

    def __init__(self, config, move, ctxt, resources=None, read_for=()):
        """One request's data.

        :param resources: usage already read, as
            :func:`usage.provider_resources` returns it (the evaluation
            reads it once for every host of the cell).
        :param read_for: the providers ``resources`` was read for.
        """
        self.config = config
        self.move = move
        self.headroom = vacant_resources.headroom_function(
            move, config.settings)
        self._ctxt = ctxt
        self._resources = resources
        self._asked = frozenset(read_for)
        # ids of a host's aggregates -> (zone, domains, caps, aggregates);
        # the aggregates are kept so that their ids stay unique.
        self._facts = {}

    @property
    def ctxt(self):
        """The admin context the request's reads use."""
        return self._ctxt

    def remember(self, spec_obj):
        """Keep this request on ``spec_obj`` for the filter and weigher.

        The evaluation judges a move that has no Migration record yet:
        nova's filter and weigher classes it runs then find the request
        here, as they find the one :func:`judged_move` keeps.
        """
        setattr(spec_obj, _MEMO, self)

    def _usage(self, host_states):
        """Provider uuid -> resources, read once per request if needed.

        The read asks placement only for the providers of the aggregates
        every host asked about is in (placement ``member_of``, which nova
        keeps in step with its host aggregates): after the zone and domain
        rules, those of the source's zone and domain. Hosts the restricted
        read leaves out, say because an aggregate is missing from
        placement, are read again without the restriction.
        """
        wanted = frozenset(hs.uuid for hs in host_states if hs.uuid)
        if self._resources is not None and wanted <= self._asked:
            return self._resources
        common = common_aggregates(host_states) if len(wanted) > 1 else ()
        resources = usage.provider_resources(self._ctxt, wanted,
                                             member_of=common)
        missing = wanted - set(resources)
        if missing and common:
            LOG.warning('Placement lists %d of the hosts of aggregates %s '
                        'for server %s without them: reading them again '
                        'without the aggregates (if an aggregate is missing '
                        'from placement, nova-manage placement '
                        'sync_aggregates mirrors it)', len(missing),
                        ', '.join(common), self.move.server_id)
            resources.update(usage.provider_resources(self._ctxt, missing))
        self._resources = resources
        self._asked = wanted
        return resources

    def judge(self, host_states):
        """The engine's rejections of each host, reading as little as it can.

        The rules that need no usage (zone, domain) run first; usage is
        read only for the hosts they leave, and the rules that need it
        run on those. The filter and the evaluation both judge through
        this method.

        :returns: [(host state, view, rejections or None, error or None)]
            in ``host_states`` order; a host whose judging raised has the
            exception as its error and None as its rejections.
        :raises: what the usage read raises.
        """
        engine = self.config.engine
        move = self.move

        def check(view, usage):
            try:
                return engine.check(move, view, usage=usage), None
            except Exception as exc:
                return None, exc

        views = self.host_views(host_states, with_usage=False)
        judged = [(hs, view) + check(view, False)
                  for hs, view in zip(host_states, views, strict=True)]
        if not engine.needs_usage:
            return judged
        left = [hs for hs, _view, rejections, _error in judged
                if rejections == []]
        if not left:
            return judged
        with_usage = dict(zip(map(id, left),
                              self.host_views(left, with_usage=True),
                              strict=True))
        result = []
        for hs, view, rejections, error in judged:
            if rejections == []:
                view = with_usage[id(hs)]
                rejections, error = check(view, True)
            result.append((hs, view, rejections, error))
        return result

    def host_views(self, host_states, with_usage):
        """HostViews for ``host_states``; usage read when asked for."""
        resources = self._usage(host_states) if with_usage else {}
        config = self.config
        # Hosts share a few combinations of aggregates: derive the facts
        # once per combination (keyed by the aggregate objects' identity,
        # stable for this request) rather than once per host.
        by_aggregates = self._facts
        memo = {}
        invalid = []
        views = []
        for hs in host_states:
            aggregates = hs.aggregates or ()
            key = tuple(map(id, aggregates))
            facts = by_aggregates.get(key)
            if facts is None:
                zone, domains, caps, bad = usage.host_facts(
                    aggregates, config.migration_domain_key,
                    config.default_availability_zone, memo)
                invalid.extend(bad)
                facts = by_aggregates[key] = (zone, domains, caps,
                                              aggregates)
            views.append(base.HostView(
                hs.host, facts[0], facts[1], resources.get(hs.uuid),
                facts[2], host_demand(hs)))
        if invalid:
            LOG.warning('Ignoring aggregate metadata that is not a number in '
                        '(0, 1]: %s; the [livemig_ext] options apply instead',
                        ', '.join(sorted('%s %s=%s' % item
                                         for item in set(invalid))))
        return views


def common_aggregates(host_states):
    """Sorted uuids of the aggregates every one of ``host_states`` is in."""
    common = None
    for hs in host_states:
        uuids = {agg.uuid for agg in hs.aggregates or ()
                 if 'uuid' in agg and agg.uuid}
        common = uuids if common is None else common & uuids
        if not common:
            return ()
    return tuple(sorted(common or ()))


def not_judged(spec_obj):
    """Mark ``spec_obj`` as a request the plugin does not judge."""
    setattr(spec_obj, _MEMO, _NOT_JUDGED)


def _may_be_move(spec_obj):
    """Cheap test on the RequestSpec alone: could this be a judged move?

    Live migrations and evacuations going through the scheduler carry the
    source host in ``ignore_hosts`` and are pinned to the instance's cell
    in ``requested_destination.cell``; boots never are.
    """
    if scheduler_utils.request_is_rebuild(spec_obj):
        return False
    if 'ignore_hosts' not in spec_obj or not spec_obj.ignore_hosts:
        return False
    destination = (spec_obj.requested_destination
                   if 'requested_destination' in spec_obj else None)
    return bool(destination and 'cell' in destination and destination.cell)


def _demand(spec_obj):
    """What nova asks placement for first, for this server.

    Servers with dedicated CPUs ask for PCPU; nova falls back to VCPU on
    hosts that report none (``[workarounds]
    disable_fallback_pcpu_query``), which :func:`host_demand` sees per
    host.
    """
    request = scheduler_utils.ResourceRequest.from_request_spec(spec_obj)
    return {rc: amount for rc, amount in request.merged_resources().items()
            if amount}


def host_demand(host_state):
    """What nova would allocate on the host's compute node provider.

    Nova's scheduler hands each host its allocation candidates before the
    filters run, and claims the first one left after them: that is what
    the move takes from the host, after nova's PCPU to VCPU fallback and
    without what it takes from nested providers (PCI devices, vGPUs).
    None when the host has no candidate (the move's demand applies).
    """
    candidates = getattr(host_state, 'allocation_candidates', None)
    if not candidates:
        return None
    allocation = candidates[0].get('allocations', {}).get(host_state.uuid)
    if allocation is None:
        return None
    return {rc: amount
            for rc, amount in allocation.get('resources', {}).items()
            if amount}


def judged_move(config, spec_obj):
    """The :class:`JudgedRequest` of a move the plugin judges, else None.

    Nova sets no "live migration" flag on the RequestSpec. The signal used
    is the Migration record nova's conductor (live migration) or API
    (evacuation) creates in status ``accepted`` before asking the
    scheduler, found by the instance's uuid in the cell the request is
    pinned to; its type tells the kind of move and its ``source_compute``
    the source host. Boots make no query; other moves one.

    The result is kept on ``spec_obj`` for the rest of the request.

    :raises: whatever the reads raise; callers turn it into a refusal.
    """
    memo = getattr(spec_obj, _MEMO, None)
    if memo is not None:
        return None if memo is _NOT_JUDGED else memo
    request = _load(config, spec_obj)
    setattr(spec_obj, _MEMO, _NOT_JUDGED if request is None else request)
    return request


def _load(config, spec_obj):
    if not _may_be_move(spec_obj):
        return None
    ctxt = usage.admin_context()
    migration = usage.accepted_migration(
        ctxt, spec_obj.requested_destination.cell, spec_obj.instance_uuid)
    if migration is None or migration.migration_type not in config.apply_to:
        return None
    source = migration.source_compute
    move = build_move(config, spec_obj, migration.migration_type, source,
                      usage.host_aggregates(ctxt, source))
    return JudgedRequest(config, move, ctxt)


def build_move(config, spec_obj, kind, source, source_aggregates):
    """The engine's :class:`base.Move` of a server leaving ``source``."""
    zone, domains, _caps, _invalid = usage.host_facts(
        source_aggregates, config.migration_domain_key,
        config.default_availability_zone)
    demand = _demand(spec_obj)
    is_bfv = 'is_bfv' in spec_obj and bool(spec_obj.is_bfv)
    return base.Move(
        server_id=spec_obj.instance_uuid,
        kind=kind,
        source=base.HostView(name=source, availability_zone=zone,
                             domains=domains),
        demand=demand,
        local_disk=not is_bfv or demand.get(base.DISK_GB, 0) > 0)
