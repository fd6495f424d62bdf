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

"""``openstack livemig host list|show`` and ``host server list``."""

from cliff import columns as cliff_columns
from osc_lib.command import command

from nova_livemig_ext.osc import plugin

RESOURCE_CLASSES = ('VCPU', 'MEMORY_MB', 'DISK_GB')
LABELS = {'VCPU': 'VCPU', 'MEMORY_MB': 'RAM MB', 'DISK_GB': 'Disk GB'}
# nova.compute.power_state, worded as ``openstack server list`` words it.
POWER_STATES = {0: 'NOSTATE', 1: 'Running', 3: 'Paused', 4: 'Shutdown',
                6: 'Crashed', 7: 'Suspended'}


def power_state(value):
    """A nova power state as a word (the number when unknown)."""
    return POWER_STATES.get(value, value)


def _entry(host, rc):
    return host['resources'].get(rc) or {}


def _used_of(host, rc):
    entry = _entry(host, rc)
    return '%s/%s' % (entry['used'], entry['allowed']) if entry else None


def _service(host):
    service = host['service']
    return '%s, %s' % (service['status'], service['state'])


def text_table(headers, rows):
    """Rows as aligned plain text: numbers to the right, words to the left.

    ``None`` shows as ``-``.
    """
    cells = [[('-' if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells])
              for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) and
                   not isinstance(row[i], bool)
                   for row in rows if row[i] is not None)
               for i in range(len(headers))]

    def line(values):
        columns = zip(values, widths, numeric, strict=True)
        return '  '.join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in columns).rstrip()
    return '\n'.join([line(headers)] + [line(row) for row in cells])


class Section(cliff_columns.FormattableColumn):
    """One section of ``host show``: a small table, or structured data.

    :param value: the section's data for ``-f json``/``yaml``.
    :param headers: the text table's headings.
    :param rows: the text table's rows; none gives ``none``.
    """

    def __init__(self, value, headers, rows):
        super().__init__(value)
        self._headers = headers
        self._rows = rows

    def human_readable(self):
        if not self._rows:
            return 'none'
        return text_table(self._headers, self._rows)

    def machine_readable(self):
        return self._value


RESOURCE_HEADERS = ['class', 'total', 'reserved', 'ratio', 'capacity',
                    'cap', 'cap from', 'allowed', 'used', 'room']


def resources_section(resources):
    rows = []
    for rc in RESOURCE_CLASSES:
        entry = resources.get(rc)
        if not entry:
            continue
        aggregate = entry['max_utilization_aggregate']
        rows.append([rc, entry['total'], entry['reserved'],
                     entry['allocation_ratio'], entry['capacity'],
                     entry['max_utilization'],
                     'aggregate %s' % aggregate if aggregate else 'option',
                     entry['allowed'], entry['used'], entry['room']])
    return Section(resources, RESOURCE_HEADERS, rows)


def projects_section(projects, names):
    value = [dict(project, project_name=names.name(project['project_id']))
             for project in projects]
    rows = [[p['project_name'] or p['project_id'], p['project_id'],
             p['instances']] + [p[rc] for rc in RESOURCE_CLASSES]
            for p in value]
    return Section(value, ['project', 'id', 'instances'] +
                   list(RESOURCE_CLASSES), rows)


def migrations_section(migrations):
    value = []
    for direction in ('outgoing', 'incoming'):
        for move in migrations.get(direction, []):
            value.append(dict(move, direction=direction))
    rows = [[m['direction'], m['migration_type'], m['server_id'],
             '%s -> %s' % (m['source'], m['dest']), m['status']] +
            [m['held'].get(rc, 0) for rc in RESOURCE_CLASSES]
            for m in value]
    return Section(value, ['direction', 'type', 'server', 'move', 'status'] +
                   ['held ' + rc for rc in RESOURCE_CLASSES], rows)


def others_section(others):
    rows = [[o['consumer_id']] + [o['held'].get(rc, 0)
                                  for rc in RESOURCE_CLASSES]
            for o in others]
    return Section(others, ['consumer'] + ['held ' + rc
                                           for rc in RESOURCE_CLASSES], rows)


class ListHost(command.Lister):
    """List compute hosts with their usage and the limit of incoming moves.

    ``used/allowed`` per resource class: what placement counts as used and
    the most the scheduler lets be in use after a move (the cap in force x
    capacity); ``--long`` adds the room left, the cap and the capacity.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--availability-zone', metavar='<zone>',
                            help='Only hosts of this availability zone')
        parser.add_argument('--aggregate', metavar='<aggregate>',
                            help='Only hosts of this aggregate (name)')
        parser.add_argument('--migration-domain', metavar='<domain>',
                            help='Only hosts of this migration domain')
        parser.add_argument('--long', action='store_true', default=False,
                            help='Also show cell, aggregates, disabled '
                                 'reason, and per resource class the room '
                                 'left, the cap and the capacity')
        return parser

    def take_action(self, parsed_args):
        client = self.app.client_manager.livemig
        hosts, body = client.get_all(
            '/hosts', 'hosts',
            availability_zone=parsed_args.availability_zone,
            aggregate=parsed_args.aggregate,
            migration_domain=parsed_args.migration_domain)
        for cell in body.get('unreachable_cells', []):
            self.log.warning('Cell %s did not answer: its hosts are not '
                             'listed.', cell)
        columns = ['Host', 'Zone', 'Domains', 'Service', 'Instances']
        columns += ['%s used/allowed' % LABELS[rc] for rc in RESOURCE_CLASSES]
        if parsed_args.long:
            columns += ['Cell', 'Aggregates', 'Disabled Reason']
            for key in ('room', 'cap', 'capacity'):
                columns += ['%s %s' % (LABELS[rc], key)
                            for rc in RESOURCE_CLASSES]
        rows = []
        for host in hosts:
            row = [host['host'], host['availability_zone'],
                   ','.join(host['migration_domains']), _service(host),
                   host['instances']]
            row += [_used_of(host, rc) for rc in RESOURCE_CLASSES]
            if parsed_args.long:
                row += [host['cell'], ','.join(host['aggregates']),
                        host['service']['disabled_reason'] or '']
                for key in ('room', 'max_utilization', 'capacity'):
                    row += [_entry(host, rc).get(key)
                            for rc in RESOURCE_CLASSES]
            rows.append(row)
        return columns, rows


class ShowHost(command.ShowOne):
    """Show a host's facts, resources, projects and moves in progress.

    As the 2010 ``nova-manage host show`` printed it, in sections: the
    host's zone, migration domains, aggregates and service; per resource
    class placement's total, reserved, ratio and capacity, the cap the
    scheduler applies, what may be in use under it (allowed), used and
    the room left for incoming moves; one row per project; the moves in
    progress and what they hold; allocations that neither accounts for
    (``nova-manage placement audit`` finds those).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='<host>',
                            help='Compute host name')
        return parser

    def take_action(self, parsed_args):
        host = self.app.client_manager.livemig.get(
            '/hosts/%s' % parsed_args.host)['host']
        names = plugin.ProjectNames(self.app.client_manager, self.log)
        service = host['service']
        data = [
            ('host', host['host']),
            ('cell', host['cell']),
            ('availability_zone', host['availability_zone']),
            ('migration_domains', ', '.join(host['migration_domains'])),
            ('aggregates', ', '.join(host['aggregates'])),
            ('service', '%s, %s' % (service['status'], service['state']) +
             (' (%s)' % service['disabled_reason']
              if service['disabled_reason'] else '')),
            ('instances', host['instances']),
            ('resources', resources_section(host['resources'])),
            ('projects', projects_section(host['projects'], names)),
            ('migrations', migrations_section(host['migrations'])),
            # A server older than this field has no other_allocations.
            ('other_allocations',
             others_section(host.get('other_allocations', []))),
        ]
        return tuple(k for k, _ in data), tuple(v for _, v in data)


class ListHostServer(command.Lister):
    """List the servers on a compute host, of every project."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='<host>',
                            help='Compute host name')
        parser.add_argument('--project', metavar='<project>',
                            help='Only servers of this project (name or '
                                 'ID)')
        parser.add_argument('--long', action='store_true', default=False,
                            help='Also show project ID, user ID, flavor '
                                 'sizes, zone and creation time')
        return parser

    def take_action(self, parsed_args):
        names = plugin.ProjectNames(self.app.client_manager, self.log)
        project_id = None
        if parsed_args.project:
            project_id = names.find(parsed_args.project)
        servers, _ = self.app.client_manager.livemig.get_all(
            '/hosts/%s/servers' % parsed_args.host, 'servers',
            project_id=project_id)
        columns = ['ID', 'Name', 'Project', 'Flavor', 'Status',
                   'Power State']
        if parsed_args.long:
            columns += ['Project ID', 'User ID', 'VCPUs', 'RAM MB',
                        'Disk GB', 'Zone', 'Created']
        rows = []
        for s in servers:
            status = s['vm_state'] + (
                ', %s' % s['task_state'] if s['task_state'] else '')
            row = [s['id'], s['name'], names.label(s['project_id']),
                   s['flavor']['name'], status,
                   power_state(s['power_state'])]
            if parsed_args.long:
                row += [s['project_id'], s['user_id'], s['flavor']['vcpus'],
                        s['flavor']['ram'], s['flavor']['disk'],
                        s['availability_zone'], s['created_at']]
            rows.append(row)
        return columns, rows
