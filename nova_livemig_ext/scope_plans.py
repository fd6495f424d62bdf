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

"""Plans over a scope of hosts: consolidation and balancing.

The servers of the scope are judged by :func:`evaluation.judge_sources`,
the stages the explain API, the drain plan and the scheduler filter run:
nova's request filters and allocation candidates query and nova's enabled
filters once per class of equal requests, then this package's constraints
and the conductor's checks once per kind of source host (its zone,
migration domains and hypervisor) among the class's servers. What they
accept now is each server's set of candidate hosts; the planners
(:mod:`planning.consolidation`, :mod:`planning.balance`) add the usage of
the moves planned before each move, with the same caps.

A server's class is its request as nova builds it: flavor, image, boot
source, scheduler hints, forced hosts (and project when a
project-dependent filter is in use). Its pinned zone and the group hint
are variants of the class: the request is judged once unpinned, and each
variant is derived from that judgement (:func:`evaluation.derive`: the
zone's providers only, as nova's request filter asks placement) when
placement's answer was complete, else judged as its servers ask. Server
groups themselves are not part of the request judged: the planners keep
anti-affinity members on distinct hosts and never move an affinity member
alone. A server with PCI or port resource requests or a NUMA topology is
a class of its own. Round trips: see :mod:`usage.scope`, plus placement
once per class and once per zone pinned; none per host or per server.

Kept hosts only receive servers (or, first, give up one to make room):
a host refused now because it is too full stays refused, so a plan may
leave room unused but never promises a move the scheduler refuses.
"""

import collections
import contextlib
import dataclasses
import gc
import time

import nova.conf
from nova import objects
from nova import servicegroup
from oslo_serialization import jsonutils

from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext.constraints import base
from nova_livemig_ext import evaluation
from nova_livemig_ext.planning import balance
from nova_livemig_ext.planning import consolidation
from nova_livemig_ext.planning import drain as drain_mod
from nova_livemig_ext.planning import scope as scope_mod
from nova_livemig_ext import plans
from nova_livemig_ext.scheduler import moves
from nova_livemig_ext import usage
from nova_livemig_ext.usage import placement
from nova_livemig_ext.usage import scope as scope_reads
from nova_livemig_ext.usage import servers as server_reads

CONF = nova.conf.CONF

ALLOCATION = balance.ALLOCATION
CPU = balance.CPU
LIVE_MIGRATION = livemig_conf.LIVE_MIGRATION
ScopeNotFound = scope_reads.ScopeNotFound
# The request spec fields that make nova's request (see plans).
_CLASS_FIELDS = ('flavor', 'image', 'availability_zone', 'is_bfv',
                 'scheduler_hints', 'force_hosts', 'force_nodes')
# The scheduler hints with which nova's allocation candidates query has no
# limit (nova.scheduler.utils.resources_from_request_spec).
_UNLIMITED_HINTS = ('group', 'same_host', 'different_host')
# The fields of which usage.scope keeps one object per distinct value.
_SHARED = frozenset(scope_reads.SHARED_FIELDS)
# Filters and request filters that judge by the server's project.
_PROJECT_FILTERS = {'AggregateMultiTenancyIsolation'}
SOURCE_DOWN = 'api:source_host'


class NoMeasurement(Exception):
    """measure=cpu, and no host of the scope has a fresh measurement."""


def _plain(value):
    """A primitive without nova's change lists, for equal requests."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()
                if k != 'nova_object.changes'}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _by_project(chain):
    return bool(CONF.scheduler.limit_tenants_to_placement_aggregate or
                {type(f).__name__ for f in chain.filters} &
                _PROJECT_FILTERS)


def _class_key(server, by_project, memo=None):
    """(the server's request but its pinned zone and group, its variant).

    The variant is (pinned zone, whether the placement query has a
    limit): what :func:`evaluation.derive` derives from the judgement of
    the request unpinned. The server group's uuid (the ``group`` hint)
    only lifts the limit: nova's filters read the group itself
    (``instance_group``), which the planners keep. A server with PCI or
    port resource requests or a NUMA topology is a request of its own,
    judged as it is (variant None).
    """
    data = server.data
    pci = (data.get('pci_requests') or {}).get('nova_object.data', {})
    if (server.has_port_resources or pci.get('requests') or
            data.get('numa_topology')):
        return ('server', server.uuid), None
    # NOTE: equal flavors and images are one object each (usage.scope):
    # the requests' keys are computed once per combination of them.
    ident = None
    if memo is not None:
        ident = tuple(
            id(data.get(field)) if field in _SHARED else
            repr(data.get(field)) for field in _CLASS_FIELDS) + (
            data.get('project_id') if by_project else None,)
        found = memo.get(ident)
        if found is not None:
            return found
    values = {field: _plain(data.get(field)) for field in _CLASS_FIELDS}
    hints = dict(values['scheduler_hints'] or {})
    limited = not any(hint in hints for hint in _UNLIMITED_HINTS)
    hints.pop('group', None)
    values['scheduler_hints'] = hints
    zone = values.pop('availability_zone')
    if by_project:
        values['project_id'] = data.get('project_id')
    key = (('request', jsonutils.dumps(values, sort_keys=True)),
           (zone, limited))
    if ident is not None:
        memo[ident] = key
    return key


def _representative(variants):
    """The uuid whose request a class is judged with, unpinned.

    A member whose query has no limit if there is one: its answer tells
    whether the limited variants had all of placement's candidates.
    """
    ordered = sorted(variants.items(), key=_order)
    for variant, rows in ordered:
        if variant is not None and not variant[1]:
            return rows[0].uuid
    return ordered[0][1][0].uuid


def _own_reasons(judgement):
    """``judgement`` with reasons of its own (the conductor adds some)."""
    return dataclasses.replace(judgement, reasons=collections.defaultdict(
        list, judgement.reasons))


def _order(item):
    variant = item[0]
    return (variant is not None, variant and (variant[0] or '', variant[1]))


class _Reader:
    """One scope read and judged: the planners' hosts and servers."""

    def __init__(self, ctxt, zone, aggregate, with_cpu):
        self.ctxt = ctxt
        self.chain = evaluation._chain()
        self.config = self.chain.config
        self.scope = scope_reads.resolve(
            ctxt, zone, aggregate, self.config.migration_domain_key,
            self.config.default_availability_zone)
        self.now = time.time()
        self.with_cpu = with_cpu
        self.hosts = []
        self.servers = []
        self.rows = {}
        self.reasons = {}
        self.disabled = {}
        self.stale = []
        self.classes = 0
        # host -> (zone, domains, hypervisor type, version): what the
        # constraints and the conductor's checks read of a source.
        self._source_keys = {}
        # host -> its capacity per resource class, as the planners see it.
        self.capacity = {}
        self._read()

    # -- usage -------------------------------------------------------------

    def _resources(self):
        uuids = {node.uuid for cs in self.scope.cells
                 for node in cs.nodes.values()}
        known = usage.provider_resources(self.ctxt, uuids)
        missing = sorted(uuids - set(known))
        if missing:
            # NOTE: hosts with no free memory at all are not among the
            # allocation candidates of the bulk read.
            inventories = placement.INVENTORIES.get(
                self.ctxt, missing, CONF.livemig_ext.inventory_cache_seconds)
            used = placement.usages(self.ctxt, missing)
            for rp_uuid in missing:
                known[rp_uuid] = {
                    rc: base.Resource(
                        int((inv.get('total', 0) - inv.get('reserved', 0)) *
                            inv.get('allocation_ratio', 1.0)),
                        used.get(rp_uuid, {}).get(rc, 0))
                    for rc, inv in inventories[rp_uuid].items()
                    if rc in base.CAPPED_RESOURCE_CLASSES}
        return known

    # -- the scope ---------------------------------------------------------

    def _read(self):
        known = self._resources()
        group_api = servicegroup.API()
        memo = {}
        by_project = _by_project(self.chain)
        key_memo = {}
        for cs in self.scope.cells:
            rows = scope_reads.servers(self.ctxt, cs)
            up = {name: group_api.service_is_up(cs.hosts.services[name])
                  for name in cs.names}
            classes = {}
            groups = {}
            for row in rows:
                self.rows[row.uuid] = row
                group, policy = row.group()
                if group and policy == 'anti-affinity':
                    groups.setdefault(row.host, set()).add(group)
                reason = self._unmovable(row, up)
                if reason is not None:
                    self.reasons[row.uuid] = reason
                    continue
                key, variant = _class_key(row, by_project, key_memo)
                classes.setdefault(key, {}).setdefault(variant,
                                                       []).append(row)
            self._add_hosts(cs, known, groups, memo)
            self._judge(cs, classes, known)
            for row in rows:
                if row.uuid in self.reasons:
                    self.servers.append(scope_mod.PlacedServer(
                        row.uuid, {}, {}, name=row.name,
                        refused={row.host: str(self.reasons[row.uuid])},
                        host=row.host))

    def _unmovable(self, row, up):
        if row.data is None:
            return evaluation.Reason(
                plans.REQUEST_SPEC, 'nova has no request spec for the '
                'server: nova\'s scheduler cannot move it', {})
        if not up[row.host]:
            return evaluation.Reason(
                SOURCE_DOWN, 'the compute service of its host %s is down: '
                'it cannot be live-migrated' % row.host, {})
        return plans._state_reason(row, LIVE_MIGRATION)

    def _add_hosts(self, cs, known, groups, memo):
        for name in cs.names:
            node = cs.nodes[name]
            service = cs.hosts.services[name]
            self.disabled[name] = bool(service.disabled)
            resources = known.get(node.uuid) or {}
            self.capacity[name] = {rc: r.capacity
                                   for rc, r in resources.items()}
            kwargs = dict(
                name=name,
                capacity=self.capacity[name],
                used={rc: r.used for rc, r in resources.items()},
                caps=plans._caps(self.config,
                                 cs.hosts.aggregates.get(name, []), memo),
                groups=frozenset(groups.get(name, ())))
            if self.with_cpu:
                percent, stamp = scope_reads.cpu_measurement(
                    node, self.now, CONF.livemig_ext.cpu_metrics_max_age)
                if percent is None and stamp is not None:
                    self.stale.append(name)
                self.hosts.append(scope_mod.MeasuredHost(
                    cores=node.vcpus or 0, cpu_percent=percent,
                    measured_at=stamp if percent is not None else None,
                    **kwargs))
            else:
                self.hosts.append(drain_mod.Host(**kwargs))

    def _source_key(self, cs, host, memo):
        key = self._source_keys.get(host)
        if key is None:
            key = self._source_keys[host] = self._source_facts(cs, host,
                                                               memo)
        return key

    def _source_facts(self, cs, host, memo):
        node = cs.nodes[host]
        zone, domains, _caps, _bad = usage.host_facts(
            cs.hosts.aggregates.get(host, []),
            self.config.migration_domain_key,
            self.config.default_availability_zone, memo)
        return (zone, tuple(sorted(domains)), node.hypervisor_type,
                node.hypervisor_version)

    def _judge(self, cs, classes, known):
        """Judge each request once, unpinned; derive its pinned variants.

        :param classes: request key -> {variant: [rows]} (see
            :func:`_class_key`).
        """
        if not classes:
            return
        chosen = {key: _representative(variants)
                  for key, variants in classes.items()}
        reps = self._representatives(cs, chosen.values(), unpin=True)
        # nova's host manager keeps its HostStates from one request to the
        # next; so do the plans, from one class to the next.
        states = evaluation.host_states(cs.cell, cs.hosts, None,
                                        only=set(cs.names))
        zones = {}
        pending = []
        for key, variants in classes.items():
            rep = reps.get(chosen[key])
            if rep is None:
                self._went_away(variants.values())
                continue
            judged, by_source = self._judge_rows(
                cs, rep, states, known,
                [row for rows in variants.values() for row in rows])
            judged_variant = self._variant(rep, variants)
            for variant, rows in sorted(variants.items(), key=_order):
                derived = self._derive(judged, by_source, variant,
                                       judged_variant, zones)
                if derived is None:
                    pending.append(rows)
                    continue
                self._place_by_source(cs, rows, derived)
        if pending:
            # NOTE: a variant placement may have answered in part (more
            # candidates than the query's limit, nested providers): judged
            # as its servers ask.
            reps = self._representatives(
                cs, [rows[0].uuid for rows in pending], unpin=False)
            for rows in pending:
                rep = reps.get(rows[0].uuid)
                if rep is None:
                    self._went_away([rows])
                    continue
                judged, by_source = self._judge_rows(cs, rep, states, known,
                                                     rows)
                self._place_by_source(cs, rows, {
                    kind: judged[source]
                    for kind, source in by_source.items()})

    @staticmethod
    def _variant(rep, variants):
        for variant, rows in variants.items():
            if any(row.uuid == rep.instance.uuid for row in rows):
                return None if variant is None else (None, variant[1])
        return None

    def _representatives(self, cs, uuids, unpin):
        """uuid -> Server, its request spec prepared as nova's conductor.

        :param unpin: judge the request without its pinned zone.
        """
        reps = scope_reads.representatives(self.ctxt, cs.cell, list(uuids))
        with_ports = [uuid for uuid in reps
                      if self.rows[uuid].has_port_resources]
        ports = server_reads.port_resource_requests(self.ctxt, with_ports)
        needs_instances = False
        for uuid, server in reps.items():
            # NOTE: the planners keep server groups themselves: the
            # class's request is judged without the group.
            server.spec.instance_group = None
            if unpin and _class_key(self.rows[uuid], False)[1] is not None:
                server.spec.availability_zone = None
            port_req, params = ports.get(server.instance.uuid, ([], None))
            server_reads._prepare(self.ctxt, server, port_req,
                                  params or objects.RequestLevelParams())
            needs_instances = needs_instances or evaluation._needs_instances(
                self.chain, server.spec)
        if needs_instances and not cs.hosts.instances:
            cs.hosts.instances = server_reads.instances_by_host(
                self.ctxt, cs.cell)
        return reps

    def _went_away(self, groups):
        for rows in groups:
            for row in rows:
                self.reasons[row.uuid] = evaluation.Reason(
                    plans.REQUEST_SPEC, 'the server or its request spec '
                    'went away while it was read', {})

    def _judge_rows(self, cs, rep, states, known, rows):
        """judge_sources of rep's request from each kind of source of rows.

        :returns: (source host -> Judgement, kind -> source host).
        """
        self.classes += 1
        by_source = {}
        memo = {}
        for row in rows:
            by_source.setdefault(self._source_key(cs, row.host, memo),
                                 row.host)
        for hs in states:
            hs.allocation_candidates = []
            hs.limits = {}
        judged = evaluation.judge_sources(
            self.ctxt, self.chain, rep.spec, cs.hosts, states,
            LIVE_MIGRATION, list(by_source.values()), known=known)
        return judged, by_source

    def _derive(self, judged, by_source, variant, judged_variant, zones):
        """kind -> Judgement of the rows' variant, or None to judge it."""
        if variant is None or variant == judged_variant:
            # NOTE: the conductor's checks add to the reasons of each
            # variant: its own copy.
            return {kind: _own_reasons(judged[source])
                    for kind, source in by_source.items()}
        zone, limited = variant
        if zone is not None and zone not in zones:
            zones[zone] = scope_reads.zone_providers(self.ctxt, zone)
        limit = CONF.scheduler.max_placement_results if limited else None
        derived = evaluation.derive(
            {source: judged[source] for source in by_source.values()},
            zone, zones.get(zone), limit)
        if derived is None:
            return None
        return {kind: derived[source] for kind, source in by_source.items()}

    def _place_by_source(self, cs, rows, judgements):
        """Conductor's checks, then the planners' servers, per source."""
        memo = {}
        by_kind = {}
        for row in rows:
            by_kind.setdefault(self._source_key(cs, row.host, memo),
                               []).append(row)
        for kind, members in by_kind.items():
            judgement = judgements[kind]
            evaluation.conductor(cs.hosts, members[0].host,
                                 judgement.eligible(), judgement.reasons,
                                 nodes=cs.nodes)
            self._place(members, judgement, cs)

    def _place(self, rows, judgement, cs):
        demand = dict(judgement.move.capped_demand)
        candidates = {}
        for hs in judgement.eligible():
            on_host = moves.host_demand(hs)
            on_host = dict(base.capped(on_host)) if on_host else None
            candidates[hs.host] = (None if on_host is None or
                                   on_host == demand else on_host)
        # NOTE: the first Reason of each host, as it is: the planners
        # print it only for a server they cannot move.
        refused = {host: reasons[0]
                   for host, reasons in judgement.reasons.items() if reasons}
        capacity = self.capacity
        for row in rows:
            group, policy = row.group()
            held = demand
            if (base.PCPU in demand and
                    base.PCPU not in capacity.get(row.host, {})):
                # nova's fallback gave it VCPU on its host.
                held = dict(demand)
                held[base.VCPU] = held.get(base.VCPU, 0) + held.pop(
                    base.PCPU)
            self.servers.append(scope_mod.PlacedServer(
                row.uuid, demand, candidates, name=row.name,
                refused=refused,
                anti_affinity=group if policy == 'anti-affinity' else None,
                affinity=group if policy == 'affinity' else None,
                host=row.host, allocation=held if held != demand else None))

    # -- the API's bodies --------------------------------------------------

    def measured(self):
        return [h.name for h in self.hosts
                if scope_mod.busy_cores(h) is not None]

    def moves(self, planned):
        by_id = {s.id: s for s in self.servers}
        result = []
        for order, move in enumerate(planned, 1):
            server = by_id[move.server_id]
            demand = server.candidates.get(move.destination) or server.demand
            result.append({
                'order': order, 'server_id': move.server_id,
                'name': server.name, 'source': move.source,
                'destination': move.destination, 'why': move.why,
                'demand': {rc: demand.get(rc, 0)
                           for rc in (base.VCPU, base.MEMORY_MB,
                                      base.DISK_GB)}})
        return result

    def hosts_view(self, planned, utilization=None):
        """Each host before and after the moves: servers and utilization."""
        by_id = {s.id: s for s in self.servers}
        used = {h.name: dict(h.used) for h in self.hosts}
        count = {h.name: 0 for h in self.hosts}
        for server in self.servers:
            count[server.host] = count.get(server.host, 0) + 1
        before_count = dict(count)
        for move in planned:
            server = by_id[move.server_id]
            landing = (server.candidates.get(move.destination) or
                       server.demand)
            for rc, amount in server.held.items():
                used[move.source][rc] = used[move.source].get(rc, 0) - amount
            for rc, amount in landing.items():
                used[move.destination][rc] = (
                    used[move.destination].get(rc, 0) + amount)
            count[move.source] -= 1
            count[move.destination] += 1
        result = []
        for host in sorted(self.hosts, key=lambda h: h.name):
            entry = {'host': host.name,
                     'servers_before': before_count[host.name],
                     'servers_after': count[host.name],
                     'disabled': self.disabled[host.name]}
            if utilization and host.name in utilization:
                entry.update(utilization[host.name])
            else:
                entry['utilization_before'] = round(
                    scope_mod.utilization(host.capacity, host.used), 4)
                entry['utilization_after'] = round(
                    scope_mod.utilization(host.capacity, used[host.name]), 4)
            result.append(entry)
        return result

    def _planner_reasons(self, server_id, texts):
        """[{host, constraint, message, details}] of a server left."""
        server = self.by_id.get(server_id)
        if server is not None and server.affinity:
            return [{'host': None,
                     'constraint': 'nova:ServerGroupAffinityFilter',
                     'message': texts[0] if texts else '',
                     'details': {'server_group': server.affinity}}]
        names = set(self.scope.names)
        found = [dict(reason.as_dict(), host=host)
                 for host, reason in sorted((server.refused if server
                                             else {}).items())
                 if host in names and host != server.host and
                 isinstance(reason, evaluation.Reason)]
        return found or [{'host': None, 'constraint': None, 'message': text,
                          'details': {}} for text in texts]

    def unplanned(self, entries):
        self.by_id = {s.id: s for s in self.servers}
        result = []
        for entry in entries:
            row = self.rows.get(entry['server_id'])
            reason = self.reasons.get(entry['server_id'])
            reasons = ([dict(reason.as_dict(), host=None)]
                       if reason is not None else
                       self._planner_reasons(entry['server_id'],
                                             entry['reasons']))
            result.append({'server_id': entry['server_id'],
                           'name': row.name if row else '',
                           'host': row.host if row else None,
                           'reasons': reasons})
        return result

    def freshness(self):
        stamps = [h.measured_at for h in self.hosts
                  if getattr(h, 'measured_at', None) is not None]
        if not self.with_cpu or not (stamps or self.stale):
            # NOTE: consolidation reads the measurements where there are
            # some; without any, its measure is the allocations alone.
            return {'source': 'placement allocations', 'age_seconds': 0}
        fresh = {'source': 'compute monitors (cpu.percent)',
                 'max_age_seconds': CONF.livemig_ext.cpu_metrics_max_age,
                 'measured_hosts': len(stamps),
                 'stale_hosts': sorted(self.stale)}
        if stamps:
            fresh['oldest_age_seconds'] = round(self.now - min(stamps), 1)
            fresh['newest_age_seconds'] = round(self.now - max(stamps), 1)
        return fresh

    def evaluated_with(self):
        return {'filters': list(CONF.filter_scheduler.enabled_filters),
                'request_classes': self.classes}


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector paused while a plan is computed.

    A plan makes hundreds of thousands of small objects (HostStates, host
    views, reasons, the planners' tables) that live until it is answered
    and hold no cycle: the collector would walk them again and again (half
    of a plan's time at 1,000 hosts). Reference counting still frees what
    the plan drops; the collector runs again once the plan is done.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def consolidation_plan(ctxt, zone=None, aggregate=None, max_moves=None):
    """The moves that leave the fewest hosts of the scope holding servers.

    :returns: the ``consolidation_plan`` body of the API.
    :raises ScopeNotFound: ``zone`` or ``aggregate`` names nothing.
    :raises usage.UsageUnavailable: placement failed.
    """
    with _collector_paused():
        return _consolidation_plan(ctxt, zone, aggregate, max_moves)


def _consolidation_plan(ctxt, zone, aggregate, max_moves):
    reader = _Reader(ctxt, zone, aggregate, with_cpu=True)
    measured = reader.measured()
    cpu_limit = CONF.livemig_ext.max_measured_cpu if measured else None
    hosts = reader.hosts if measured else [
        drain_mod.Host(h.name, h.capacity, h.used, h.caps, h.groups)
        for h in reader.hosts]
    plan = consolidation.plan_consolidation(
        hosts, reader.servers, max_moves=max_moves, cpu_limit=cpu_limit)
    moves_out = reader.moves(plan.moves)
    return {
        'scope': reader.scope.as_dict(),
        'moves': moves_out,
        'hosts_emptied': list(plan.hosts_emptied),
        'hosts_in_use_before': plan.hosts_in_use_before,
        'hosts_in_use_after': plan.hosts_in_use_after,
        'lower_bound': plan.lower_bound,
        'unplanned': reader.unplanned(plan.unplanned),
        'hosts': reader.hosts_view(plan.moves),
        'ram_moved_mb': sum(m['demand'][base.MEMORY_MB] for m in moves_out),
        'measure': ALLOCATION + ('+' + CPU if measured else ''),
        'cpu_limit': cpu_limit,
        'freshness': reader.freshness(),
        'max_moves': max_moves,
        'groups': plan.groups,
        'evaluated_with': reader.evaluated_with(),
    }


def balance_plan(ctxt, zone=None, aggregate=None, max_moves=None,
                 measure=ALLOCATION):
    """Moves that bring the busiest hosts of the scope towards the mean.

    :param measure: ``allocation`` (placement's allocations) or ``cpu``
        (nova's compute monitors' ``cpu.percent``).
    :returns: the ``balance_plan`` body of the API.
    :raises ScopeNotFound: ``zone`` or ``aggregate`` names nothing.
    :raises NoMeasurement: ``cpu`` and no host of the scope is measured.
    """
    with _collector_paused():
        return _balance_plan(ctxt, zone, aggregate, max_moves, measure)


def _balance_plan(ctxt, zone, aggregate, max_moves, measure):
    reader = _Reader(ctxt, zone, aggregate, with_cpu=measure == CPU)
    if measure == CPU and reader.hosts and not reader.measured():
        raise NoMeasurement(
            'No compute host of the scope has a cpu.percent measurement of '
            'the last %d s ([livemig_ext] cpu_metrics_max_age): nova-compute '
            'publishes it with [DEFAULT] compute_monitors = cpu.virt_driver.'
            ' Balance by allocation instead (measure=allocation).'
            % CONF.livemig_ext.cpu_metrics_max_age)
    plan = balance.plan_balance(
        reader.hosts, reader.servers, max_moves=max_moves, measure=measure,
        cpu_limit=CONF.livemig_ext.max_measured_cpu, now=reader.now)
    utilization = {entry['host']: {
        'utilization_before': round(entry['utilization_before'], 4),
        'utilization_after': round(entry['utilization_after'], 4)}
        for entry in plan.hosts}
    names = set(utilization)
    unplanned = []
    for server in reader.servers:
        why = scope_mod.immovable(server, names) if (
            server.host in names) else None
        if why:
            unplanned.append({'server_id': server.id, 'reasons': [why]})
    return {
        'scope': reader.scope.as_dict(),
        'measure': measure,
        'freshness': reader.freshness(),
        'moves': reader.moves(plan.moves),
        'hosts': [entry for entry in reader.hosts_view(plan.moves,
                                                       utilization)
                  if entry['host'] in names],
        'spread_before': round(plan.spread_before, 4),
        'spread_after': round(plan.spread_after, 4),
        'unmeasured': list(plan.unmeasured),
        'unplanned': reader.unplanned(unplanned),
        'cpu_limit': (CONF.livemig_ext.max_measured_cpu if measure == CPU
                      else None),
        'max_moves': max_moves,
        'evaluated_with': reader.evaluated_with(),
    }
