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

"""Plans on the shared evaluation: the drain of a host.

Every server on the host is judged by :func:`evaluation.judge`, the
stages the explain API and the scheduler filter run (nova's request
filters and allocation candidates query, nova's enabled filters, this
package's constraints at LiveMigrationDestinationFilter's place) and, for
live migrations, the conductor's checks. What they accept now becomes the
planner's candidates, what they refuse its refused hosts with the first
reason; the planner (:mod:`planning.drain`) then adds the usage of the
moves planned before each server, so a plan never names a host the
scheduler would refuse once the earlier moves are done.

Servers are judged by equivalence class, not one by one: servers of one
project with the same flavor, image, pinned availability zone, boot
source and scheduler hints make the same request to placement and to
nova's filters, so one allocation candidates query and one run of the
filters serve them all. A server in a server group, with PCI or port
resource requests, or with a NUMA topology is a class of its own (nova's
group filters, and the devices and cells such a server takes, depend on
the server itself). Round trips: the host's cell and hosts (three
queries), the host's instances (one), their request specs (one), their
ports (one network call), the instances by host when a filter needs them
(one), nova's group reads per grouped server, and placement once per
class; none per host.
"""

import math

from nova.compute import vm_states
import nova.conf
from nova.objects import base as nova_objects_base
from nova import servicegroup
from oslo_serialization import jsonutils

from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext.constraints import base
from nova_livemig_ext import evaluation
from nova_livemig_ext.planning import drain
from nova_livemig_ext.scheduler import moves
from nova_livemig_ext import usage
from nova_livemig_ext.usage import hosts as host_usage
from nova_livemig_ext.usage import servers

CONF = nova.conf.CONF

LIVE_MIGRATION = livemig_conf.LIVE_MIGRATION
EVACUATION = livemig_conf.EVACUATION
# The states nova's API accepts for each kind of move (with no task).
MOVABLE = {LIVE_MIGRATION: (vm_states.ACTIVE, vm_states.PAUSED),
           EVACUATION: (vm_states.ACTIVE, vm_states.STOPPED,
                        vm_states.ERROR)}
SERVER_STATE = 'api:server_state'
REQUEST_SPEC = 'api:request_spec'
# The planner's rules, named as explain names the stage that applies them.
_RULES = {drain.VACANT_RESOURCES: 'vacant_resources',
          drain.PLACEMENT: evaluation.PLACEMENT,
          drain.ANTI_AFFINITY: 'nova:ServerGroupAntiAffinityFilter'}
# The request spec fields that make nova's request: servers equal in them
# are judged once.
_CLASS_FIELDS = ('flavor', 'image', 'availability_zone', 'is_bfv',
                 'scheduler_hints', 'project_id', 'force_hosts',
                 'force_nodes')


def _move_kind(kind, source_up, host):
    if kind is None:
        return LIVE_MIGRATION if source_up else EVACUATION
    if kind == LIVE_MIGRATION and not source_up:
        raise evaluation.CannotMove(
            'The compute service of host %s is down: its servers cannot be '
            'live-migrated; plan their evacuation (move=evacuation).'
            % host)
    if kind == EVACUATION and source_up:
        raise evaluation.CannotMove(
            'The compute service of host %s is up: nova evacuates servers '
            'only from a host whose compute service is down; plan live '
            'migrations (move=live-migration).' % host)
    return kind


def _state_reason(instance, kind):
    """A Reason when nova's API refuses ``kind`` for the server now."""
    if (instance.vm_state in MOVABLE[kind] and
            instance.task_state is None):
        return None
    message = ('vm_state %s, task_state %s: %s needs vm_state %s and no '
               'task in progress' % (
                   instance.vm_state, instance.task_state,
                   'a live migration' if kind == LIVE_MIGRATION else
                   'an evacuation', ' or '.join(MOVABLE[kind])))
    if kind == LIVE_MIGRATION and instance.vm_state in (
            vm_states.STOPPED, vm_states.SHELVED):
        message += ('; a stopped server can be cold-migrated instead '
                    '(openstack server migrate)')
    return evaluation.Reason(SERVER_STATE, message, {
        'vm_state': instance.vm_state, 'task_state': instance.task_state})


def _class_key(server):
    """The equivalence class of a server's request; see the module doc."""
    spec = server.spec
    if ('instance_group' in spec and spec.instance_group or
            spec.requested_resources or
            (spec.pci_requests and spec.pci_requests.requests) or
            ('numa_topology' in spec and spec.numa_topology)):
        return ('server', server.instance.uuid)
    values = {}
    for field in _CLASS_FIELDS:
        value = getattr(spec, field) if spec.obj_attr_is_set(field) else None
        if isinstance(value, nova_objects_base.NovaObject):
            value = nova_objects_base.obj_to_primitive(value)
        values[field] = value
    return ('request', jsonutils.dumps(values, sort_keys=True))


def _group(spec):
    group = spec.instance_group if 'instance_group' in spec else None
    if group is None:
        return None, None
    if group.policy == 'anti-affinity':
        return group.uuid, None
    if group.policy == 'affinity':
        return None, group.uuid
    return None, None


def _caps(config, aggregates, memo):
    """The caps in force on a host, as vacant_resources applies them."""
    overrides = usage.host_facts(aggregates, config.migration_domain_key,
                                 config.default_availability_zone, memo)[2]
    return {rc: overrides.get(rc, cap)
            for rc, cap in config.settings.max_utilization.items()}


class _Judged:
    """One equivalence class judged: the planner's view of its servers."""

    def __init__(self, judgement, demand):
        self.demand = demand
        self.candidates = {}
        for hs in judgement.eligible():
            on_host = moves.host_demand(hs)
            on_host = dict(base.capped(on_host)) if on_host else None
            self.candidates[hs.host] = (
                None if on_host is None or on_host == demand else on_host)
        self.refused = {host: reasons[0]
                        for host, reasons in judgement.reasons.items()
                        if reasons}


def drain_plan(ctxt, host, strategy=None, kind=None):
    """Plan the moves that empty ``host``, judged as nova would.

    :param strategy: ``spread`` or ``pack``; default ``[livemig_ext]
        weigher_strategy``.
    :param kind: ``live-migration`` or ``evacuation``; default by the
        state of the host's compute service (up: live migration).
    :returns: the ``drain_plan`` body of the API.
    :raises host_usage.HostNotFound: ``host`` is not a compute host.
    :raises evaluation.CannotMove: ``kind`` is not possible now.
    :raises usage.UsageUnavailable: placement failed.
    """
    with host_usage._reads(ctxt):
        cell = host_usage.host_cell(ctxt, host)
    cell_hosts = servers.cell_hosts(ctxt, cell)
    if host not in {node.host for node in cell_hosts.nodes}:
        raise host_usage.HostNotFound(host)
    source = cell_hosts.services.get(host)
    kind = _move_kind(kind, source is not None and
                      servicegroup.API().service_is_up(source), host)
    chain = evaluation._chain()
    config = chain.config
    strategy = strategy or config.settings.weigher_strategy
    on_host = servers.host_servers(ctxt, cell, host)
    unmovable = [(instance, evaluation.Reason(
        REQUEST_SPEC, 'nova has no request spec for the server: nova\'s '
        'scheduler cannot move it', {})) for instance in on_host.without_spec]
    classes = {}
    for server in on_host.servers:
        reason = _state_reason(server.instance, kind)
        if reason is not None:
            unmovable.append((server.instance, reason))
        else:
            classes.setdefault(_class_key(server), []).append(server)
    if any(evaluation._needs_instances(chain, members[0].spec)
           for members in classes.values()):
        cell_hosts.instances = servers.instances_by_host(ctxt, cell)

    resources = {}
    uuid_of = {}
    planned = []
    by_id = {}
    for members in classes.values():
        spec = members[0].spec
        states = evaluation.host_states(cell, cell_hosts, host)
        uuid_of.update((hs.host, hs.uuid) for hs in states)
        judgement = evaluation.judge(ctxt, chain, spec, cell_hosts, states,
                                     kind, host)
        if kind == LIVE_MIGRATION:
            evaluation.conductor(cell_hosts, host, judgement.eligible(),
                                 judgement.reasons)
        resources.update(judgement.resources)
        judged = _Judged(judgement, dict(judgement.move.capped_demand))
        for server in members:
            anti_affinity, affinity = _group(server.spec)
            planned.append(drain.Server(
                server.instance.uuid, judged.demand, judged.candidates,
                name=server.instance.display_name or '',
                refused=judged.refused, anti_affinity=anti_affinity,
                affinity=affinity))
            by_id[server.instance.uuid] = (server, judgement.move)

    hosts = _planner_hosts(config, cell_hosts, planned, resources, uuid_of,
                           on_host.servers)
    plan = drain.plan_drain(host, planned, hosts, strategy)
    return _body(plan, kind, strategy, by_id,
                 {server.id: server for server in planned}, unmovable,
                 {h.name: h for h in hosts}, len(classes))


def _planner_hosts(config, cell_hosts, planned, resources, uuid_of,
                   on_host):
    """planning.drain.Host of every host some server may go to."""
    names = sorted({name for server in planned
                    for name in server.candidates})
    groups = {}
    for server in on_host:
        group = server.spec.instance_group if (
            'instance_group' in server.spec) else None
        if group is not None and group.policy == 'anti-affinity':
            for member_host in group.hosts or ():
                groups.setdefault(member_host, set()).add(group.uuid)
    memo = {}
    hosts = []
    for name in names:
        summary = resources.get(uuid_of.get(name))
        if summary is None:
            continue
        hosts.append(drain.Host(
            name,
            capacity={rc: r.capacity for rc, r in summary.items()},
            used={rc: r.used for rc, r in summary.items()},
            caps=_caps(config, cell_hosts.aggregates.get(name, []), memo),
            groups=frozenset(groups.get(name, ()))))
    return hosts


def _demand(move):
    return {rc: move.demand.get(rc, 0)
            for rc in (base.VCPU, base.MEMORY_MB, base.DISK_GB)}


def _reasons(move, server):
    """[{host, constraint, message, details}] of a server left unplanned."""
    if move.destination is not None:
        return []
    if server.affinity:
        return [{'host': None, 'constraint': 'nova:ServerGroupAffinityFilter',
                 'message': move.reasons[0],
                 'details': {'server_group': server.affinity}}]
    result = []
    for host in sorted(set(server.refused) | set(move.refusals)):
        refusal = move.refusals.get(host)
        if refusal is not None:
            reason = {'constraint': _RULES[refusal.rule],
                      'message': refusal.message,
                      'details': dict(refusal.details)}
        else:
            reason = server.refused[host].as_dict()
        result.append(dict(reason, host=host))
    if not result:
        result.append({'host': None, 'constraint': evaluation.PLACEMENT,
                       'message': 'the cell has no other compute host',
                       'details': {}})
    return result


def _body(plan, kind, strategy, by_id, planned, unmovable, hosts,
          classes):
    moves_out = []
    order = 0
    for move in plan.moves:
        server, engine_move = by_id[move.server_id]
        if move.destination is not None:
            order += 1
        moves_out.append({
            'server_id': move.server_id, 'name': move.name,
            'destination': move.destination, 'move': kind,
            'order': order if move.destination is not None else None,
            'demand': _demand(engine_move),
            'vm_state': server.instance.vm_state,
            'reasons': _reasons(move, planned[move.server_id])})
    for instance, reason in unmovable:
        moves_out.append({
            'server_id': instance.uuid, 'name': instance.display_name or '',
            'destination': None, 'move': kind, 'order': None,
            'demand': None, 'vm_state': instance.vm_state,
            'reasons': [dict(reason.as_dict(), host=None)]})
    destinations = {move.destination for move in plan.moves
                    if move.destination}
    return {
        'host': plan.host,
        'feasible': all(m['destination'] is not None for m in moves_out),
        'move': kind,
        'strategy': strategy,
        'moves': moves_out,
        'hosts_after': {name: _resources(hosts[name], after)
                        for name, after in plan.hosts_after.items()
                        if name in destinations},
        'evaluated_with': {
            'filters': list(CONF.filter_scheduler.enabled_filters),
            'request_classes': classes},
    }


def _resources(host, after):
    """The API's resources of a destination after every move."""
    result = {}
    for rc, values in after.items():
        capacity = values['capacity']
        used = values['used']
        cap = host.caps.get(rc, 1.0)
        allowed = math.floor(cap * capacity)
        result[rc] = {'capacity': capacity, 'used_before': host.used.get(rc,
                                                                         0),
                      'used': used, 'free': capacity - used,
                      'max_utilization': cap, 'allowed': allowed,
                      'room': max(allowed - used, 0)}
    return result
