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

"""Compute hosts for the API: cells, services, aggregates and resources.

A constant number of database round trips per request, whatever the hosts
and instances: one read transaction on the API database (cells, host
mappings, aggregates) and one per cell (compute nodes, compute services,
instances by host), and placement reads as
:mod:`nova_livemig_ext.usage.placement` describes.

The reads of one database share one transaction (:func:`_reads`): one
connection taken from the pool and one snapshot of that database, where
each nova object call alone would take its own. Where a request needs
two or three columns of many rows (compute nodes, the project of each
instance), it reads those columns with nova's own query helper on nova's
models instead of building a full object per row.

A database that fails or cannot be reached (refused, lost mid-request,
no connection free in the pool) raises :class:`DatabaseUnavailable`,
which names it: the API database, or the database of a cell. A listing
across cells reports a cell whose database fails in its
``unreachable_cells`` instead.
"""

import collections
import contextlib

import nova.conf
from nova import context as nova_context
from nova.db.api import api as api_db
from nova.db.main import api as main_db
from nova.db.main import models as main_models
from nova import exception as nova_exception
from nova import objects
from nova import servicegroup
from nova import thread_pool_factory
from oslo_db import exception as db_exc
import sqlalchemy.exc

from nova_livemig_ext import usage
from nova_livemig_ext.usage import placement

CONF = nova.conf.CONF
# The [livemig_ext] option that caps each resource class.
CAP_OPTIONS = {'VCPU': 'vcpu_max_utilization',
               'MEMORY_MB': 'ram_max_utilization',
               'DISK_GB': 'disk_max_utilization'}


class HostNotFound(LookupError):
    """No compute host of that name."""


class MarkerNotFound(LookupError):
    """A paging marker names nothing in the listing."""


# What a read raises when its database fails rather than the request:
# oslo.db's translations (DBConnectionError for a refused or lost
# connection), a driver error it left untranslated, and SQLAlchemy's pool
# timeout and invalidated connections.
DB_ERRORS = (db_exc.DBError, sqlalchemy.exc.DBAPIError,
             sqlalchemy.exc.DisconnectionError, sqlalchemy.exc.TimeoutError,
             sqlalchemy.exc.PendingRollbackError)
API_DATABASE = 'the API database'


class DatabaseUnavailable(Exception):
    """A nova database failed or could not be reached.

    The message names the database and the kind of error, not its text,
    which may quote SQL; nova-api's log has the whole error.
    """

    def __init__(self, database, error):
        self.database = database
        super().__init__('%s%s did not answer (%s); try again later.' % (
            database[0].upper(), database[1:], type(error).__name__))


class CellUnavailable(DatabaseUnavailable):
    """The database of a host's cell did not answer."""


class Listing:
    """The hosts of one listing request and the cells that did not answer."""

    def __init__(self, hosts, unreachable_cells):
        self.hosts = hosts
        self.unreachable_cells = unreachable_cells


def _cell_database(cell):
    return 'the database of cell %s' % (cell.name or cell.uuid)


@contextlib.contextmanager
def _failing(database, unavailable=DatabaseUnavailable):
    """Raise ``unavailable`` naming ``database`` for a database error."""
    try:
        yield
    except DB_ERRORS as exc:
        raise unavailable(database, exc) from exc


@contextlib.contextmanager
def _reads(ctxt, cell=None):
    """One read transaction for the nova object calls made inside it.

    nova's object methods join the transaction in force on their context
    for their database, and start their own otherwise.

    :param cell: the cell mapping of the cell database ``ctxt`` targets,
        rather than the API database (True: that cell, named by its uuid).
    :raises CellUnavailable: when the cell database fails.
    :raises DatabaseUnavailable: when the API database fails.
    """
    if cell is True:
        cell = _targeted_cell(ctxt)
    if cell is None or cell is False:
        manager = api_db.context_manager.reader.using(ctxt)
        failing = _failing(API_DATABASE)
    else:
        manager = main_db.get_context_manager(ctxt).reader.using(ctxt)
        failing = _failing(_cell_database(cell), CellUnavailable)
    with failing, manager:
        yield


def _targeted_cell(cctxt):
    """The cell ``cctxt`` targets, as nova's scatter-gather set it."""
    return objects.CellMapping(uuid=cctxt.cell_uuid, name=None)


def _cell_data(cctxt):
    """Compute nodes, compute services and instance uuids of one cell."""
    with _reads(cctxt, True):
        nodes = _compute_nodes(cctxt)
        services = objects.ServiceList.get_by_binary(
            cctxt, 'nova-compute', include_disabled=True)
        hosts = sorted({node.host for node in nodes})
        uuids = objects.InstanceList.get_uuids_by_hosts(cctxt, hosts)
    return list(nodes), list(services), uuids


class _Facts:
    """Per host: aggregates, zone and domains from one aggregate listing."""

    def __init__(self, aggregates):
        self.by_host = collections.defaultdict(list)
        self._memo = {}
        for aggregate in aggregates:
            for host in aggregate.hosts:
                self.by_host[host].append(aggregate)

    def of(self, host):
        """Zone, aggregates, domains and caps as the scheduler sees them.

        :func:`nova_livemig_ext.usage.host_facts` applies the scheduler's
        rules; a resource class no aggregate overrides has the cap of its
        ``[livemig_ext]`` option. ``_caps`` maps each resource class to
        (cap in force, the aggregate it comes from or None).
        """
        aggregates = sorted(self.by_host.get(host, []),
                            key=lambda agg: agg.name)
        zone, domains, overrides, _ = usage.host_facts(
            aggregates, CONF.livemig_ext.migration_domain_key,
            CONF.default_availability_zone, memo=self._memo)
        caps = {}
        for rc, option in CAP_OPTIONS.items():
            if rc in overrides:
                # The first aggregate by name among those setting the cap.
                source = next(agg.name for agg in aggregates
                              if self._memo[id(agg)].caps.get(rc) ==
                              overrides[rc])
                caps[rc] = (overrides[rc], source)
            else:
                caps[rc] = (getattr(CONF.livemig_ext, option), None)
        return {
            'availability_zone': zone,
            'aggregates': [agg.name for agg in aggregates],
            'migration_domains': sorted(domains),
            '_caps': caps,
        }


def _service(service, group_api):
    if service is None:
        return {'status': None, 'disabled_reason': None, 'state': None}
    return {
        'status': 'disabled' if service.disabled else 'enabled',
        'disabled_reason': service.disabled_reason,
        'state': 'up' if group_api.service_is_up(service) else 'down',
    }


def _entries(cell_name, nodes, services, uuids, facts, group_api):
    """Host entries without resources, and host -> compute node uuid."""
    by_host = {service.host: service for service in services}
    node_of = {}
    for node in sorted(nodes, key=_node_name):
        node_of.setdefault(node.host, node)
    entries = []
    for host, node in node_of.items():
        entry = {'host': host, 'cell': cell_name}
        entry.update(facts.of(host))
        entry['service'] = _service(by_host.get(host), group_api)
        entry['instances'] = len(uuids.get(host, ()))
        entry['_node'] = node
        entries.append(entry)
    return entries


def _add_resources(ctxt, entries, used_by_rp):
    rp_uuids = [entry['_node'].uuid for entry in entries]
    inventories = placement.INVENTORIES.get(
        ctxt, rp_uuids, CONF.livemig_ext.inventory_cache_seconds)
    for entry in entries:
        rp_uuid = entry.pop('_node').uuid
        entry['resources'] = placement.resources(
            inventories[rp_uuid], used_by_rp.get(rp_uuid, {}),
            entry.pop('_caps'))


def _node_uuids(cctxt):
    with _reads(cctxt, True):
        return [node.uuid for node in _compute_nodes(cctxt)]


def compute_node_uuids(ctxt):
    """The compute node uuids of every cell that answers (one query each).

    They are the uuids of the hosts' resource providers in placement.
    """
    with _failing(API_DATABASE):
        results = nova_context.scatter_gather_skip_cell0(ctxt, _node_uuids)
    return [rp_uuid for result in results.values()
            if not nova_context.is_cell_failure_sentinel(result)
            for rp_uuid in result]


def list_hosts(ctxt, keep=None, limit=None, marker=None):
    """Every compute host of every cell that answers.

    :param keep: a predicate on a host entry (zone, aggregates, domains),
        applied before paging and before placement is read.
    :param limit: at most this many hosts, sorted by name.
    :param marker: the last host name of the previous page.
    :raises HostNotFound: when ``marker`` names no listed host.
    :returns: a :class:`Listing`.
    """
    with _reads(ctxt):
        cells = {cell.uuid: cell for cell in
                 objects.CellMappingList.get_all(ctxt)}
        facts = _Facts(objects.AggregateList.get_all(ctxt))
    # nova reads the cell mappings from the API database once per process;
    # a cell whose database fails is returned as its exception.
    with _failing(API_DATABASE):
        results = nova_context.scatter_gather_skip_cell0(ctxt, _cell_data)
    group_api = servicegroup.API()
    entries = []
    unreachable = []
    for cell_uuid, result in results.items():
        cell = cells.get(cell_uuid)
        name = cell.name if cell and cell.name else cell_uuid
        if nova_context.is_cell_failure_sentinel(result):
            unreachable.append(name)
            continue
        entries.extend(_entries(name, *result, facts, group_api))
    entries = sorted((e for e in entries if keep is None or keep(e)),
                     key=lambda e: e['host'])
    if marker is not None:
        names = [e['host'] for e in entries]
        if marker not in names:
            raise MarkerNotFound(marker)
        entries = entries[names.index(marker) + 1:]
    if limit is not None:
        entries = entries[:limit]
    used = placement.usages(ctxt, [e['_node'].uuid for e in entries])
    _add_resources(ctxt, entries, used)
    return Listing(entries, sorted(unreachable))


def filter_values(ctxt):
    """What the listing's filters may name (one API database query).

    :returns: {'availability_zone': zones, 'aggregate': aggregate names,
        'migration_domain': domains}, each a set: the names of the
        aggregates and the zones and domains their metadata give, with or
        without hosts, and nova's default zone.
    """
    with _reads(ctxt):
        aggregates = objects.AggregateList.get_all(ctxt)
    values = {'availability_zone': {CONF.default_availability_zone},
              'aggregate': set(), 'migration_domain': set()}
    for aggregate in aggregates:
        facts = usage.AggregateFacts(aggregate,
                                     CONF.livemig_ext.migration_domain_key)
        values['aggregate'].add(facts.name)
        if facts.zone:
            values['availability_zone'].add(facts.zone)
        if facts.domain:
            values['migration_domain'].add(facts.domain)
    return values


def show_host(ctxt, host):
    """One host with its usage per project and its migrations in flight.

    What placement counts as used on the host is split three ways: the
    project rows (the host's instances), the holds of moves in progress,
    and ``other_allocations``, held by consumers that are neither (an
    allocation nova failed to remove, such as that of an instance that
    went to ERROR before it reached a host).

    Two database transactions (API, then cell) whatever the host holds;
    placement is a remote service: its answer (the host's allocations) is
    awaited while the cell database is read.

    :raises HostNotFound: for an unknown host.
    :raises DatabaseUnavailable: when the API database does not answer.
    :raises CellUnavailable: when the host's cell does not answer.
    """
    with _reads(ctxt):
        cell = host_cell(ctxt, host)
        facts = _Facts(objects.AggregateList.get_by_host(ctxt, host))
    try:
        with nova_context.target_cell(ctxt, cell) as cctxt, \
                _reads(cctxt, cell):
            node = _first_node(cctxt, host)
            pending = thread_pool_factory.spawn(placement.allocations, ctxt,
                                                node.uuid)
            services = [objects.Service.get_by_compute_host(cctxt, host)]
            projects = _project_of(cctxt, host)
            migrations = list(
                objects.MigrationList.get_in_progress_by_host_and_node(
                    cctxt, host, node.hypervisor_hostname))
    except nova_exception.ComputeHostNotFound as exc:
        raise HostNotFound(host) from exc
    on_host = set(projects)
    (entry,) = _entries(cell.name or cell.uuid, [node], services,
                        {host: on_host}, facts, servicegroup.API())
    held = pending.result()
    used = collections.Counter()
    for resources in held.values():
        used.update(resources)
    _add_resources(ctxt, [entry], {node.uuid: dict(used)})
    entry['projects'] = _projects(projects, held)
    entry['migrations'], moving = _migrations(host, migrations, held,
                                              on_host)
    entry['other_allocations'] = [
        {'consumer_id': consumer, 'held': dict(held[consumer])}
        for consumer in sorted(set(held) - on_host - moving)]
    return entry


def _node_name(node):
    """Of a host's compute nodes, listing and show use the first by this."""
    return node.hypervisor_hostname or ''


def _compute_nodes(cctxt, host=None):
    """Compute nodes (uuid, host, hypervisor_hostname) of a cell or a host.

    Three columns read in the cell transaction in force: a compute node's
    uuid names its resource provider in placement, and nothing else of the
    record is needed.
    """
    node = main_models.ComputeNode
    query = main_db.model_query(
        cctxt, node, (node.uuid, node.host, node.hypervisor_hostname),
        read_deleted='no')
    if host is not None:
        query = query.filter_by(host=host)
    return query.all()


def _first_node(cctxt, host):
    """The host's compute node (the first by name, as in listings)."""
    nodes = _compute_nodes(cctxt, host)
    if not nodes:
        raise nova_exception.ComputeHostNotFound(host=host)
    return min(nodes, key=_node_name)


def _project_of(cctxt, host):
    """instance uuid -> project id of the host's instances.

    Two columns read in the cell transaction in force, where loading the
    instances would build a full record per instance.
    """
    return dict(main_db.model_query(
        cctxt, main_models.Instance,
        (main_models.Instance.uuid, main_models.Instance.project_id),
        read_deleted='no').filter_by(host=host).all())


def _projects(projects, held):
    """One row per project: its instances on the host and what they use.

    :param projects: instance uuid -> project id, for the host's instances.
    :param held: consumer uuid -> {resource class: amount} on the host.
    """
    rows = {}
    for instance_uuid, project_id in projects.items():
        row = rows.setdefault(project_id, {
            'project_id': project_id, 'instances': 0,
            'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0})
        row['instances'] += 1
        for rc, amount in held.get(instance_uuid, {}).items():
            if rc in row:
                row[rc] += amount
    return [rows[p] for p in sorted(rows)]


def _migrations(host, migrations, held, on_host):
    """Moves in flight from or to the host and what each holds on it.

    An outgoing move holds the source through its migration record; an
    incoming one holds the destination through the instance until the
    instance belongs to the host (then its project row counts it).

    :returns: the moves by direction, and the placement consumers whose
        holds they show.
    """
    result = {'incoming': [], 'outgoing': []}
    consumers = set()
    for migration in sorted(migrations, key=lambda m: m.created_at or 0):
        outgoing = migration.source_compute == host
        if outgoing:
            consumer = migration.uuid
        elif migration.instance_uuid in on_host:
            consumer = None
        else:
            consumer = migration.instance_uuid
        if consumer is not None:
            consumers.add(consumer)
        result['outgoing' if outgoing else 'incoming'].append({
            'id': migration.uuid,
            'server_id': migration.instance_uuid,
            'source': migration.source_compute,
            'dest': migration.dest_compute,
            'status': migration.status,
            'migration_type': migration.migration_type,
            'held': dict(held.get(consumer, {})),
        })
    return result, consumers


def host_cell(ctxt, host):
    """The cell mapping of a compute host (one API database query).

    :raises HostNotFound: when no host mapping exists for ``host``.
    """
    try:
        return objects.HostMapping.get_by_host(ctxt, host).cell_mapping
    except nova_exception.HostMappingNotFound as exc:
        raise HostNotFound(host) from exc


def _server(instance):
    flavor = instance.flavor
    return {
        'id': instance.uuid,
        'name': instance.display_name,
        'project_id': instance.project_id,
        'user_id': instance.user_id,
        'flavor': {'name': flavor.name, 'vcpus': flavor.vcpus,
                   'ram': flavor.memory_mb, 'disk': flavor.root_gb},
        'vm_state': instance.vm_state,
        'task_state': instance.task_state,
        'power_state': instance.power_state,
        'created_at': instance.created_at.isoformat()
        if instance.created_at else None,
        'availability_zone': instance.availability_zone,
    }


def _is_on_host(cctxt, instance_uuid, host):
    try:
        instance = objects.Instance.get_by_uuid(cctxt, instance_uuid,
                                                expected_attrs=[])
    except (nova_exception.InstanceNotFound, nova_exception.Invalid):
        return False
    return instance.host == host


def host_servers(ctxt, host, project_id=None, limit=None, marker=None):
    """The instances on ``host``, oldest first (two transactions in all).

    :raises HostNotFound: for an unknown host.
    :raises MarkerNotFound: when ``marker`` is not an instance of the
        listing.
    :raises DatabaseUnavailable: when the API database does not answer.
    :raises CellUnavailable: when the host's cell does not answer.
    """
    with _reads(ctxt):
        cell = host_cell(ctxt, host)
    filters = {'host': host, 'deleted': False}
    if project_id:
        filters['project_id'] = project_id
    with nova_context.target_cell(ctxt, cell) as cctxt, \
            _reads(cctxt, cell):
        if marker and not _is_on_host(cctxt, marker, host):
            raise MarkerNotFound(marker)
        try:
            instances = objects.InstanceList.get_by_filters(
                cctxt, filters, sort_keys=['created_at', 'id'],
                sort_dirs=['asc', 'asc'], limit=limit, marker=marker,
                expected_attrs=['flavor'])
        except nova_exception.MarkerNotFound as exc:
            raise MarkerNotFound(marker) from exc
    return [_server(instance) for instance in instances]
