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

"""What nova's scheduler would decide for a server's live migration, and why.

One evaluation, judging every compute host of the server's cell as a
live migration with the scheduler choosing (microversion 2.68 or later,
not forced) is judged, in the order nova judges:

1. ``placement``: nova's request filters (the server's pinned zone,
   disabled computes, ...) and nova's own allocation candidates query for
   the server's request as nova builds it, with its PCPU to VCPU fallback;
2. nova's enabled host filters (``[filter_scheduler] enabled_filters``)
   run through nova's own filter classes on nova's HostStates, each on
   every host placement accepted; at the place of
   LiveMigrationDestinationFilter, this package's constraints, on the
   same usage read and the same per-host views as the filter;
3. nova's weighers (``[filter_scheduler] weight_classes``, this package's
   weigher among them) rank the hosts left;
4. nova's conductor's checks after choosing (hypervisor type and
   version).

Rank 1 is where the scheduler would send the server. The evaluation reads
nova-api's configuration: it judges as nova-scheduler does when both
services have the same ``[filter_scheduler]``, ``[scheduler]``,
``[workarounds]`` and ``[livemig_ext]`` options. What it cannot foresee:
the destination's own checks over RPC (``check_can_live_migrate_
destination``), a random choice among the top hosts when ``[filter_
scheduler] host_subset_size`` is above 1, and what changes between this
answer and the migration.
"""

import collections
import copy
import dataclasses
import threading
from urllib import parse

from nova.compute import vm_states
import nova.conf
from nova import exception as nova_exception
from nova.scheduler import filters as nova_filters
from nova.scheduler import host_manager
from nova.scheduler import request_filter
from nova.scheduler import utils as scheduler_utils
from nova.scheduler import weights as nova_weights
from nova import servicegroup
from oslo_log import log as logging

from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext.constraints import base
from nova_livemig_ext.scheduler import moves
from nova_livemig_ext import usage
from nova_livemig_ext.usage import servers

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

PLACEMENT = 'placement'
FILTER_NAME = 'LiveMigrationDestinationFilter'
MOVABLE_VM_STATES = (vm_states.ACTIVE, vm_states.PAUSED)


class CannotMove(Exception):
    """The server cannot be live-migrated now (a 409 for the API)."""


class HostNotFound(LookupError):
    """A host asked about is not a compute host of the server's cell."""


@dataclasses.dataclass
class Reason:
    """Why one rule refuses a host.

    :param constraint: ``placement``, ``nova:<FilterClassName>``, a
        constraint plugin's name, or ``conductor:<check>``.
    """

    constraint: str
    message: str
    details: dict = dataclasses.field(default_factory=dict)

    def as_dict(self):
        return {'constraint': self.constraint, 'message': self.message,
                'details': self.details}

    def __str__(self):
        return '%s: %s' % (self.constraint, self.message)


@dataclasses.dataclass
class Destination:
    host: str
    reasons: list = dataclasses.field(default_factory=list)
    rank: int | None = None
    weight: float | None = None

    @property
    def eligible(self):
        return not self.reasons

    def as_dict(self):
        return {'host': self.host, 'eligible': self.eligible,
                'rank': self.rank, 'weight': self.weight,
                'reasons': [r.as_dict() for r in self.reasons]}


@dataclasses.dataclass
class Explanation:
    server: dict
    destinations: list
    evaluated_with: dict

    def as_dict(self):
        return {'server': self.server,
                'destinations': [d.as_dict() for d in self.destinations],
                'evaluated_with': self.evaluated_with}


# nova's filter and weigher objects, built from the configuration; like
# nova-scheduler's, they hold no per-request state and are shared.
_CHAIN_LOCK = threading.Lock()
_CHAIN = {}


@dataclasses.dataclass(frozen=True)
class _Chain:
    filters: tuple
    weighers: tuple
    config: livemig_conf.Config

    def judges(self, kind):
        """Whether the constraints judge moves of ``kind`` (apply_to)."""
        return kind in self.config.apply_to


def _chain():
    # Built again when any option it is built from changes: the filter
    # lists and every [livemig_ext] option (caps, apply_to, strategy).
    livemig_conf.register_opts(CONF)
    key = (tuple(CONF.filter_scheduler.available_filters),
           tuple(CONF.filter_scheduler.enabled_filters),
           tuple(CONF.filter_scheduler.weight_classes),
           CONF.default_availability_zone,
           tuple(repr(getattr(CONF.livemig_ext, opt.dest))
                 for opt in livemig_conf.livemig_opts))
    with _CHAIN_LOCK:
        chain = _CHAIN.get(key)
        if chain is None:
            chain = _CHAIN[key] = _build_chain()
    return chain


def _build_chain():
    # As nova's HostManager loads them: an unknown name is a configuration
    # error of nova-scheduler as well.
    classes = {cls.__name__: cls for cls in
               nova_filters.HostFilterHandler().get_matching_classes(
                   CONF.filter_scheduler.available_filters)}
    missing = [name for name in CONF.filter_scheduler.enabled_filters
               if name not in classes]
    if missing:
        raise nova_exception.SchedulerHostFilterNotFound(
            filter_name=', '.join(missing))
    filters = tuple(classes[name]()
                    for name in CONF.filter_scheduler.enabled_filters)
    weighers = tuple(
        cls() for cls in nova_weights.HostWeightHandler().get_matching_classes(
            CONF.filter_scheduler.weight_classes))
    livemig_conf.register_opts(CONF)
    config = livemig_conf.load(CONF)
    return _Chain(filters=filters, weighers=weighers, config=config)


# nova's filters and weighers that look at the instances of each host, and
# when they do.
_SAME_HOST_FILTERS = {'SameHostFilter', 'DifferentHostFilter'}
_GROUP_FILTERS = {'ServerGroupAntiAffinityFilter',
                  'ServerGroupAffinityFilter'}
_SOFT_GROUP_WEIGHERS = {'ServerGroupSoftAffinityWeigher',
                        'ServerGroupSoftAntiAffinityWeigher'}


def _needs_instances(chain, spec):
    """Whether a filter or weigher in use reads HostState.instances."""
    names = ({type(f).__name__ for f in chain.filters} |
             {type(w).__name__ for w in chain.weighers})
    hints = (spec.scheduler_hints if 'scheduler_hints' in spec and
             spec.scheduler_hints else {})
    if names & _SAME_HOST_FILTERS and (hints.get('same_host') or
                                       hints.get('different_host')):
        return True
    # ServerGroupAntiAffinityFilter counts the group's members among the
    # host's instances; the soft weighers do as well.
    group = spec.instance_group if 'instance_group' in spec else None
    if group is not None and names & (_GROUP_FILTERS | _SOFT_GROUP_WEIGHERS):
        return True
    return bool('ImagePropertiesWeigher' in names and
                CONF.filter_scheduler.image_props_weight_multiplier)


def _check_movable(instance, source_service, group_api):
    if (instance.vm_state not in MOVABLE_VM_STATES or
            instance.task_state is not None):
        raise CannotMove(
            'Server %s cannot be live-migrated now: its vm_state is %s and '
            'its task_state %s; a live migration needs vm_state active or '
            'paused and no task in progress.'
            % (instance.uuid, instance.vm_state, instance.task_state))
    if source_service is None or not group_api.service_is_up(
            source_service):
        raise CannotMove(
            'Server %s cannot be live-migrated now: the compute service of '
            'its host %s is down (evacuate the server instead).'
            % (instance.uuid, instance.host))


def explain(ctxt, server_id, host=None):
    """Judge every compute host of the server's cell for its live migration.

    :param host: judge this host only.
    :returns: an :class:`Explanation`.
    :raises servers.ServerNotFound: no such server.
    :raises HostNotFound: ``host`` is not a compute host of the cell.
    :raises CannotMove: the server cannot be live-migrated now.
    :raises usage.UsageUnavailable: placement failed.
    """
    found = servers.server(ctxt, server_id)
    instance = found.instance
    cell_hosts = servers.cell_hosts(ctxt, found.cell)
    group_api = servicegroup.API()
    _check_movable(instance, cell_hosts.services.get(instance.host),
                   group_api)
    names = {node.host for node in cell_hosts.nodes}
    if host is not None and host not in names:
        raise HostNotFound(host)
    chain = _chain()
    spec = servers.prepare_spec(ctxt, found)
    if _needs_instances(chain, spec):
        cell_hosts.instances = servers.instances_by_host(ctxt, found.cell)
    states = host_states(found.cell, cell_hosts, instance.host, host)
    judgement = judge(ctxt, chain, spec, cell_hosts, states,
                      livemig_conf.LIVE_MIGRATION, instance.host)
    move, reasons = judgement.move, judgement.reasons
    eligible = [hs for hs in judgement.accepted if not reasons[hs.host]]
    ranked = _rank(chain, spec, eligible)
    conductor(cell_hosts, instance.host, [w.obj for w in ranked], reasons)

    destinations = {hs.host: Destination(hs.host, reasons[hs.host])
                    for hs in states}
    if host == instance.host:
        # nova's conductor puts the source host in the request's
        # ignore_hosts: the scheduler never considers it.
        destinations[host] = Destination(host, [Reason(
            'conductor:source_host',
            'the server runs on this host; nova never live-migrates a '
            'server to the host it is on', {})])
    # Hosts of equal weight share a rank: nova takes the first of them in
    # the order its host manager yields hosts, which it does not define.
    weights = []
    for weighed in ranked:
        destination = destinations[weighed.obj.host]
        if destination.eligible:
            destination.weight = round(weighed.weight, 6)
            weights.append(destination.weight)
    for destination in destinations.values():
        if destination.eligible:
            destination.rank = 1 + sum(1 for w in weights
                                       if w > destination.weight)
    ordered = sorted(destinations.values(),
                     key=lambda d: (d.rank is None, d.rank or 0, d.host))
    return Explanation(
        server=_server(found, move, spec),
        destinations=ordered,
        evaluated_with={
            'filters': list(CONF.filter_scheduler.enabled_filters),
            'weighers': [type(w).__name__ for w in chain.weighers],
            'host_subset_size': CONF.filter_scheduler.host_subset_size})


def _server(found, move, spec):
    return {
        'id': found.instance.uuid,
        'host': found.instance.host,
        'cell': found.cell.name,
        'availability_zone': move.source.availability_zone,
        'pinned_availability_zone': spec.availability_zone
        if 'availability_zone' in spec else None,
        'migration_domains': sorted(move.source.domains),
        'demand': {rc: move.demand.get(rc, 0)
                   for rc in (base.VCPU, base.MEMORY_MB, base.DISK_GB)},
        'requested_resources': dict(move.demand),
    }


def host_states(cell, cell_hosts, source, only=None):
    """nova's HostStates of every compute host of the cell but ``source``.

    :param only: the one host (a name) or the hosts (a set of names) to
        build, if not None.
    """
    if isinstance(only, str):
        only = {only}
    states = []
    seen = set()
    for node in sorted(cell_hosts.nodes, key=lambda n: (n.host, n.id)):
        if node.host == source or (only is not None and
                                   node.host not in only):
            continue
        service = cell_hosts.services.get(node.host)
        if service is None or node.host in seen:
            # nova's scheduler skips a node without a service; a host with
            # several nodes (ironic) is judged on its first.
            continue
        seen.add(node.host)
        hs = host_manager.HostState(node.host, node.hypervisor_hostname,
                                    cell.uuid)
        hs.update(node, dict(service), cell_hosts.aggregates.get(
            node.host, []), cell_hosts.instances.get(node.host, {}))
        states.append(hs)
    return states


@dataclasses.dataclass(frozen=True)
class PlacementAnswer:
    """How much of placement's allocation candidates a judgement saw.

    :param returned: the allocation requests nova's query returned.
    :param limit: the query's ``limit`` (``[scheduler]
        max_placement_results``, which nova drops for server groups and
        same or different host hints), or None.
    :param single_query: nova's request filters passed and one query was
        made (no PCPU to VCPU fallback).
    """

    returned: int = 0
    limit: int | None = None
    single_query: bool = False

    @property
    def complete(self):
        """Whether placement returned every allocation request it has."""
        return self.single_query and (self.limit is None or
                                      self.returned < self.limit)


@dataclasses.dataclass
class Judgement:
    """What nova's scheduler stages say of one request on some hosts.

    :param move: the engine's Move.
    :param accepted: the HostStates placement accepted (each with its
        allocation candidates).
    :param reasons: host -> [Reason], in the order the stages refused
        (empty for a host every stage accepts).
    :param resources: provider uuid -> {resource class: Resource}, the
        usage the stages judged on.
    :param request: the JudgedRequest the constraints ran with.
    :param answer: the :class:`PlacementAnswer` of the placement stage.
    """

    move: base.Move
    accepted: list
    reasons: dict
    resources: dict
    request: moves.JudgedRequest
    answer: PlacementAnswer = PlacementAnswer()

    def eligible(self):
        """The accepted HostStates no stage refuses."""
        return [hs for hs in self.accepted if not self.reasons[hs.host]]


def judge(ctxt, chain, spec, cell_hosts, states, kind, source):
    """Placement, nova's filters and the constraints, as the scheduler runs.

    The one judging of the explain API, the plans and (through
    :class:`moves.JudgedRequest`) the scheduler filter. Weighers and the
    conductor's checks are the callers' to add.

    :param spec: the request spec prepared as nova's conductor sends it
        (:func:`servers.prepare_spec`); nova's request filters change it.
    :param states: the HostStates to judge (:func:`host_states`).
    :param kind: ``live-migration`` or ``evacuation``.
    :returns: a :class:`Judgement`.
    :raises usage.UsageUnavailable: placement failed.
    """
    return judge_sources(ctxt, chain, spec, cell_hosts, states, kind,
                         [source])[source]


def judge_sources(ctxt, chain, spec, cell_hosts, states, kind, sources,
                  known=None):
    """:func:`judge` of one request leaving each of several hosts.

    Placement and nova's filters see the request, not where it comes
    from: they run once. The constraints (zone and migration domain of the
    source, usage caps) then run once per source, at their place in the
    filter chain, so each source's reasons are in the order nova's
    scheduler would give them.

    :param sources: source host names; each is built into its own move.
    :param known: provider uuid -> resources already read (the plans' one
        read of a scope): placement is not asked again for them.
    :returns: source -> :class:`Judgement` (the accepted HostStates and
        the resources are shared).
    """
    first = sources[0]
    move = moves.build_move(chain.config, spec, kind, first,
                            cell_hosts.aggregates.get(first, []))
    before = collections.defaultdict(list)
    accepted, resources, answer = _placement(ctxt, spec, states, cell_hosts,
                                             move, before, known)
    request = moves.JudgedRequest(chain.config, move, ctxt, resources,
                                  read_for={hs.uuid for hs in accepted})
    # The constraints run where LiveMigrationDestinationFilter is in
    # nova's enabled filters, for the kinds of move they apply to.
    judged = chain.judges(kind) and any(
        type(f).__name__ == FILTER_NAME for f in chain.filters)
    if judged:
        request.remember(spec)
    else:
        moves.not_judged(spec)
    after = collections.defaultdict(list)
    _filters(chain, spec, accepted, before, after)
    result = {}
    for source in sources:
        if source != first:
            move = moves.build_move(chain.config, spec, kind, source,
                                    cell_hosts.aggregates.get(source, []))
            request = moves.JudgedRequest(
                chain.config, move, ctxt, resources,
                read_for={hs.uuid for hs in accepted})
        reasons = collections.defaultdict(list)
        for host, found in before.items():
            reasons[host].extend(found)
        if judged:
            _constraints(chain, request, accepted, reasons)
        for host, found in after.items():
            reasons[host].extend(found)
        result[source] = Judgement(move, accepted, reasons, resources,
                                   request, answer)
    return result


def derive(judgements, zone=None, providers=None, limit=None):
    """The judgements of the same request pinned to ``zone``, or None.

    Among nova's stages only the request filter
    ``map_az_to_placement_aggregate`` reads a request's availability
    zone: it adds the zone's aggregates to the allocation candidates
    query (``member_of``), and placement then returns the candidates of
    their providers only. nova's filters, the constraints and the
    conductor judge each host alike whatever the zone pinned. So when the
    judged query returned every allocation request placement has
    (:attr:`PlacementAnswer.complete`), each on the host's compute node
    provider alone, the pinned request's judgement is the judged one with
    the hosts outside ``providers`` refused by placement; and, with
    ``limit``, as long as no more than ``limit`` candidates are left
    (beyond, placement would have cut the answer).

    Call it before the HostStates judged are judged again: their
    allocation candidates are the judgements'.

    :param judgements: source -> :class:`Judgement`, as
        :func:`judge_sources` returns them (one placement stage).
    :param zone: the zone pinned, or None (the same request with
        ``limit`` instead of the judged query's).
    :param providers: uuids of placement's providers in the zone's
        aggregates, or None when no nova aggregate has the zone (nova's
        request filter then adds nothing).
    :param limit: the pinned request's query limit, or None.
    :returns: source -> a new :class:`Judgement` (with reasons of its
        own), or None when they cannot be derived and must be judged.
    """
    first = next(iter(judgements.values()))
    if not first.answer.complete:
        return None
    kept = []
    refused = {}
    returned = 0
    memo = {}
    for hs in first.accepted:
        candidates = hs.allocation_candidates or ()
        if providers is not None and any(
                len(alloc_req['allocations']) != 1 or
                hs.uuid not in alloc_req['allocations']
                for alloc_req in candidates):
            return None
        if providers is None or hs.uuid in providers:
            kept.append(hs)
            returned += len(candidates)
        else:
            refused[hs.host] = [_zone_reason(hs, zone, memo) or Reason(
                PLACEMENT,
                'the host is in availability zone %s but not among '
                'placement\'s providers of its aggregates, which nova\'s '
                'request filter asks placement for (nova-manage placement '
                'sync_aggregates mirrors them)' % zone,
                {'request_filter': 'map_az_to_placement_aggregate',
                 'pinned_availability_zone': zone})]
    if limit is not None and returned > limit:
        return None
    answer = PlacementAnswer(returned, limit, True)
    result = {}
    for source, judgement in judgements.items():
        reasons = collections.defaultdict(list, judgement.reasons)
        reasons.update(refused)
        result[source] = Judgement(judgement.move, kept, reasons,
                                   judgement.resources, judgement.request,
                                   answer)
    return result


def _placement(ctxt, spec, states, cell_hosts, move, reasons, known=None):
    """The hosts nova's placement query accepts; reasons for the others.

    :returns: (accepted HostStates, provider uuid -> {resource class:
        Resource}, :class:`PlacementAnswer`). Usage comes from the
        provider summaries of nova's own
        query (capacity and used of every resource class of each
        candidate, as the filter's read gets them); hosts placement did
        not return are read only when a resource may be why.
    """
    try:
        request_filter.process_reqspec(ctxt, spec)
    except nova_exception.RequestFilterFailed as exc:
        for hs in states:
            reasons[hs.host].append(Reason(
                PLACEMENT, 'nova\'s request filters refuse the request: %s'
                % exc.message, {'request_filter': True}))
        return [], {}, PlacementAnswer()
    query = scheduler_utils.resources_from_request_spec(
        ctxt, spec, None, enable_pinning_translate=True)
    alloc_reqs, summaries = servers.allocation_candidates(ctxt, query)
    alloc_reqs = list(alloc_reqs)
    summaries = dict(summaries)
    limit = parse.parse_qs(query.to_querystring()).get('limit')
    fallback = (query.cpu_pinning_requested and
                not CONF.workarounds.disable_fallback_pcpu_query)
    answer = PlacementAnswer(len(alloc_reqs),
                             int(limit[0]) if limit else None,
                             not fallback)
    if fallback:
        fallback = scheduler_utils.resources_from_request_spec(
            ctxt, spec, None, enable_pinning_translate=False)
        more, more_summaries = servers.allocation_candidates(ctxt, fallback)
        alloc_reqs.extend(more)
        summaries.update(more_summaries)
    resources = dict(known or {})
    resources.update(usage.resources_of(summaries,
                                        {hs.uuid for hs in states}))
    by_rp = collections.defaultdict(list)
    for alloc_req in alloc_reqs:
        for rp_uuid in alloc_req['allocations']:
            by_rp[rp_uuid].append(alloc_req)
    accepted = []
    unexplained = []
    for hs in states:
        candidates = by_rp.get(hs.uuid)
        if candidates:
            hs.allocation_candidates = copy.deepcopy(candidates)
            accepted.append(hs)
            continue
        reason = _request_filter_reason(hs, spec, cell_hosts)
        if reason is None:
            unexplained.append(hs)
        else:
            reasons[hs.host].append(reason)
    missing = {hs.uuid for hs in unexplained if hs.uuid not in resources}
    if missing:
        resources.update(usage.provider_resources(ctxt, missing))
    for hs in unexplained:
        reasons[hs.host].append(_fit_reason(
            move, resources.get(hs.uuid), len(alloc_reqs)))
    return accepted, resources, answer


def _request_filter_reason(hs, spec, cell_hosts):
    """Why nova's request filters keep a host from placement, or None."""
    service = cell_hosts.services[hs.host]
    if service.disabled:
        return Reason(
            PLACEMENT,
            'the compute service is disabled (%s): nova\'s request filter '
            'asks placement for hosts without the COMPUTE_STATUS_DISABLED '
            'trait' % (service.disabled_reason or 'no reason given'),
            {'request_filter': 'compute_status_filter',
             'disabled_reason': service.disabled_reason})
    pinned = spec.availability_zone if 'availability_zone' in spec else None
    return _zone_reason(hs, pinned)


def _zone_reason(hs, pinned, memo=None):
    """Why the pinned zone keeps a host from placement, or None."""
    zone = usage.host_facts(hs.aggregates,
                            CONF.livemig_ext.migration_domain_key,
                            CONF.default_availability_zone, memo)[0]
    if pinned and zone != pinned:
        return Reason(
            PLACEMENT,
            'the server was booted in availability zone %s and the host is '
            'in %s: nova\'s request filter asks placement for the zone\'s '
            'hosts only' % (pinned, zone),
            {'request_filter': 'map_az_to_placement_aggregate',
             'availability_zone': zone, 'pinned_availability_zone': pinned})
    return None


def _fit_reason(move, resources, returned):
    """Why placement has no candidate on a host the request filters keep."""
    if resources is None:
        return Reason(
            PLACEMENT,
            'placement has no free MEMORY_MB on this host, or the host is '
            'not a placement provider', {})
    for rc, requested in move.capped_demand:
        resource = resources.get(rc)
        if rc == base.PCPU and (resource is None or
                                resource.free < requested):
            # nova's fallback asks for VCPU instead.
            resource = resources.get(base.VCPU)
            rc = base.VCPU
        if resource is None or resource.free < requested:
            free = 0 if resource is None else max(resource.free, 0)
            return Reason(
                PLACEMENT,
                '%s: requested %d, free %g of capacity %g (used %g)'
                % (rc, requested, free,
                   0 if resource is None else resource.capacity,
                   0 if resource is None else resource.used),
                {'resource_class': rc, 'requested': requested,
                 'free': free,
                 'capacity': None if resource is None else resource.capacity,
                 'used': None if resource is None else resource.used})
    limit = CONF.scheduler.max_placement_results
    if returned >= limit:
        return Reason(
            PLACEMENT,
            'not among the %d allocation candidates placement returned '
            '([scheduler] max_placement_results)' % limit,
            {'max_placement_results': limit})
    return Reason(
        PLACEMENT,
        'placement returned no allocation candidate for this host (a '
        'trait, aggregate or nested resource the server requests)', {})


# What nova's own filters check, in an operator's words; nova logs no
# reason per host (only at debug level), so these say what the filter
# tests, and the host's values where they explain it.
_FILTER_WHY = {
    'ComputeFilter': 'the compute service is disabled or down',
    'ComputeCapabilitiesFilter':
        'the host\'s capabilities do not match the flavor\'s extra specs',
    'ImagePropertiesFilter':
        'the host\'s hypervisor does not support the image\'s properties '
        '(architecture, hypervisor type, VM mode)',
    'ServerGroupAntiAffinityFilter':
        'a member of the server\'s anti-affinity server group runs there',
    'ServerGroupAffinityFilter':
        'the members of the server\'s affinity server group run elsewhere',
    'NUMATopologyFilter':
        'the server\'s NUMA topology (pinned CPUs, huge pages) does not fit',
    'PciPassthroughFilter':
        'the host has no free PCI device matching the server\'s requests',
    'AggregateInstanceExtraSpecsFilter':
        'the host\'s aggregates\' metadata do not match the flavor\'s extra '
        'specs',
    'SameHostFilter': 'the host runs none of the servers of the '
                      'same_host hint',
    'DifferentHostFilter': 'the host runs a server of the different_host '
                           'hint',
}


def _filter_reason(name, hs, spec):
    details = {}
    message = _FILTER_WHY.get(name, 'nova\'s %s rejects the host' % name)
    if name == 'ComputeFilter':
        service = hs.service
        details = {'disabled': service.get('disabled'),
                   'disabled_reason': service.get('disabled_reason'),
                   'forced_down': service.get('forced_down')}
        message = ('the compute service is disabled (%s)'
                   % service.get('disabled_reason')
                   if service.get('disabled') else
                   'the compute service is down')
    elif name in ('ServerGroupAntiAffinityFilter',
                  'ServerGroupAffinityFilter'):
        group = spec.instance_group if 'instance_group' in spec else None
        if group is not None:
            details = {'server_group': group.uuid,
                       'policy': group.policy,
                       'member_hosts': sorted(set(group.hosts or ()))}
            message = '%s: server group %s (%s) has members on %s' % (
                message, group.name, group.policy,
                ', '.join(details['member_hosts']) or 'no host')
    return Reason('nova:%s' % name, message, details)


def _filters(chain, spec, accepted, before, after):
    """nova's enabled filters in order, each on every accepted host.

    The reasons of the filters before LiveMigrationDestinationFilter's
    place go to ``before``, those after it to ``after``: the constraints
    run between them.
    """
    reasons = before
    for host_filter in chain.filters:
        name = type(host_filter).__name__
        if name == FILTER_NAME:
            reasons = after
            continue
        try:
            passed = {id(hs) for hs in
                      host_filter.filter_all(list(accepted), spec) or ()}
        except Exception as exc:
            # nova's filter handler would fail the request: no host.
            LOG.exception('nova\'s %s failed while explaining server %s',
                          name, spec.instance_uuid)
            failure = Reason('nova:%s' % name,
                             'the filter failed: %s' % exc, {})
            for hs in accepted:
                reasons[hs.host].append(failure)
            continue
        for hs in accepted:
            if id(hs) not in passed:
                reasons[hs.host].append(_filter_reason(name, hs, spec))


def _constraints(chain, request, accepted, reasons):
    """This package's constraints, as LiveMigrationDestinationFilter runs."""
    for hs, _view, rejections, error in request.judge(accepted):
        if error is not None:
            reasons[hs.host].append(Reason(
                FILTER_NAME, 'the host could not be judged: %s' % error, {}))
            continue
        for rejection in rejections:
            reasons[hs.host].append(Reason(
                rejection.constraint, rejection.reason,
                dict(rejection.details)))


def _rank(chain, spec, eligible):
    """nova's weighers over the eligible hosts: WeighedHosts, best first."""
    if not eligible:
        return []
    return nova_weights.HostWeightHandler().get_weighed_objects(
        list(chain.weighers), eligible, spec)


def conductor(cell_hosts, source, chosen, reasons, nodes=None):
    """nova's conductor's checks of a chosen live-migration host.

    The conductor tries the scheduler's choice, and on failure asks again
    without it: a host failing these is never the destination. Evacuations
    have no such checks.

    :param chosen: HostStates the scheduler may choose.
    :param nodes: host -> its first compute node, of the source and the
        chosen hosts at least (built from ``cell_hosts`` when None).
    """
    if nodes is None:
        nodes = {}
        for node in cell_hosts.nodes:
            nodes.setdefault(node.host, node)
    source_node = nodes.get(source)
    if source_node is None:
        return
    for hs in chosen:
        node = nodes[hs.host]
        if node.hypervisor_type != source_node.hypervisor_type:
            # NOTE: a new list: derived judgements share the others'.
            reasons[hs.host] = reasons[hs.host] + [Reason(
                'conductor:hypervisor_type',
                'the host runs hypervisor %s, the source host %s runs %s'
                % (node.hypervisor_type, source, source_node.hypervisor_type),
                {'hypervisor_type': node.hypervisor_type,
                 'source_hypervisor_type': source_node.hypervisor_type})]
        elif (not CONF.workarounds.skip_hypervisor_version_check_on_lm and
              node.hypervisor_version < source_node.hypervisor_version):
            reasons[hs.host] = reasons[hs.host] + [Reason(
                'conductor:hypervisor_version',
                'the host\'s hypervisor version %s is older than the source '
                'host\'s %s' % (node.hypervisor_version,
                                source_node.hypervisor_version),
                {'hypervisor_version': node.hypervisor_version,
                 'source_hypervisor_version':
                     source_node.hypervisor_version})]
