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

"""openstackclient plugin: ``openstack livemig ...``.

The commands reach the os-livemig API extension through nova's compute
endpoint, with the session and credentials openstackclient already has.
"""

import argparse

from openstack import exceptions as sdk_exceptions
from osc_lib.command import command
from osc_lib import exceptions
from osc_lib import utils

API_NAME = 'livemig'
API_VERSION_OPTION = 'os_livemig_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = {'1': 'nova_livemig_ext.osc.plugin.Client'}
BASE_PATH = '/os-livemig'


class Client:
    """GETs under /os-livemig on the compute endpoint; faults become errors.

    :param compute: openstacksdk's compute proxy (a keystoneauth adapter).
    """

    def __init__(self, compute):
        self._compute = compute

    def get(self, path, **params):
        params = {k: v for k, v in params.items() if v is not None}
        resp = self._compute.get(BASE_PATH + path, params=params or None,
                                 raise_exc=False)
        if resp.status_code == 200:
            return resp.json()
        raise exceptions.CommandError(_fault_message(resp))

    def compute_get(self, path, microversion=None, missing_ok=False,
                    **params):
        """GET a path of nova's own compute API (not /os-livemig).

        :param missing_ok: answer None instead of raising on a 404.
        """
        params = {k: v for k, v in params.items() if v is not None}
        resp = self._compute.get(path, params=params or None,
                                 microversion=microversion, raise_exc=False)
        if resp.status_code == 200:
            return resp.json()
        if missing_ok and resp.status_code == 404:
            return None
        raise exceptions.CommandError(_fault_message(resp))

    def compute_put(self, path, body, microversion=None):
        """PUT to nova's own compute API; refusals become errors."""
        resp = self._compute.put(path, json=body, microversion=microversion,
                                 raise_exc=False)
        if resp.status_code == 200:
            return resp.json()
        raise exceptions.CommandError(_fault_message(resp))

    def compute_post(self, path, body, microversion=None):
        """POST to nova's own compute API; refusals become errors."""
        resp = self._compute.post(path, json=body, microversion=microversion,
                                  raise_exc=False)
        if resp.status_code in (200, 202, 204):
            return resp
        raise exceptions.CommandError(_fault_message(resp))

    def get_all(self, path, collection, **params):
        """Every item of a paged collection, following its next links."""
        items = []
        marker = None
        while True:
            body = self.get(path, marker=marker, **params)
            page = body.get(collection, [])
            items.extend(page)
            if not body.get(collection + '_links') or not page:
                return items, body
            marker = page[-1]['host' if collection == 'hosts' else 'id']


def _fault_message(resp):
    try:
        body = resp.json()
        (fault,) = body.values()
        return '%s (HTTP %s)' % (fault['message'], resp.status_code)
    except Exception:
        return 'os-livemig API answered HTTP %s: %s' % (
            resp.status_code, (resp.text or '')[:200])


class ProjectNames:
    """Project names beside ids, read from keystone as far as allowed.

    One ``GET /v3/projects/{id}`` per project (a host holds a few), each
    answer kept for the command. A user keystone does not let read a
    project (403), an unknown project or an unreachable keystone gives the
    id instead: the listing never fails because of a name. After a 401,
    403 or an unreachable keystone no more projects are asked for.

    :param client_manager: openstackclient's client manager.
    :param log: the command's logger (the fallback is logged at debug).
    """

    def __init__(self, client_manager, log):
        self._client_manager = client_manager
        self._log = log
        self._names = {}
        self._gave_up = False

    def _identity(self):
        return self._client_manager.sdk_connection.identity

    def name(self, project_id):
        """The project's name, or None when it cannot be read."""
        if not project_id or self._gave_up:
            return self._names.get(project_id)
        if project_id not in self._names:
            self._names[project_id] = self._read(project_id)
        return self._names[project_id]

    def label(self, project_id):
        """The project's name, or its id when the name cannot be read."""
        return self.name(project_id) or project_id

    def _read(self, project_id):
        try:
            return self._identity().get_project(project_id).name
        except sdk_exceptions.NotFoundException:
            return None
        except Exception as exc:
            # NOTE: a 401/403 or a keystone that does not answer will not
            # answer for the next project either.
            self._log.debug('Project names are not shown: %s', exc)
            self._gave_up = True
            return None

    def find(self, name_or_id):
        """The id of a project given by name or id.

        :raises CommandError: when keystone answers that no project has
            that name or id; when keystone cannot be asked (no right to
            list projects, or it does not answer), ``name_or_id`` is taken
            as an id.
        """
        try:
            project = self._identity().find_project(name_or_id,
                                                    ignore_missing=True)
        except sdk_exceptions.DuplicateResource as exc:
            raise exceptions.CommandError(
                'More than one project is named %s: give its ID.'
                % name_or_id) from exc
        except Exception as exc:
            self._log.debug('Project %s taken as an ID: %s', name_or_id, exc)
            return name_or_id
        if project is None:
            raise exceptions.CommandError(
                'No project with a name or ID of %s exists.' % name_or_id)
        self._names[project.id] = project.name
        return project.id


class Help(command.Command):
    """List the livemig commands, each with its one-line summary."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('words', nargs='*', metavar='<command>',
                            help=argparse.SUPPRESS)
        # ``openstack help livemig`` and ``openstack livemig --help`` print
        # this parser's help: the list goes in its epilog, as written.
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = commands_text(self.app.command_manager)
        return parser

    def take_action(self, parsed_args):
        out = self.app.stdout
        if parsed_args.words:
            out.write('Unknown command: livemig %s\n\n'
                      % ' '.join(parsed_args.words))
        out.write(commands_text(self.app.command_manager))
        return 2 if parsed_args.words else 0


def commands_text(command_manager):
    """``livemig`` commands and their summaries as help lists commands."""
    rows = []
    for name, entry_point in sorted(command_manager):
        if not name.startswith(API_NAME + ' '):
            continue
        try:
            summary = entry_point.load().__doc__.strip().splitlines()[0]
        except Exception:
            summary = ''
        rows.append((name, summary.rstrip('.')))
    width = max(len(name) for name, _ in rows) if rows else 0
    return 'Commands (openstack <command> --help for one):\n' + ''.join(
        '  %s  %s\n' % (name.ljust(width), summary)
        for name, summary in rows)


def make_client(instance):
    """The os-livemig client for openstackclient's client manager."""
    return Client(instance.sdk_connection.compute)


def build_option_parser(parser):
    parser.add_argument(
        '--os-livemig-api-version',
        metavar='<livemig-api-version>',
        default=utils.env('OS_LIVEMIG_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='os-livemig API version, default=%s '
             '(Env: OS_LIVEMIG_API_VERSION)' % DEFAULT_API_VERSION)
    return parser
