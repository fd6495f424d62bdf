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

"""How a long run of moves shows its progress.

On a terminal, with table output: a progress bar (rich) with the moves
done and in flight, and one line per event above it. Otherwise (output
piped or redirected, ``-f json`` or ``-f yaml``): nothing on the output,
each event logged at INFO (shown with ``-v``), so that what a program
reads is the final table alone.
"""

from rich import console as rich_console
from rich import progress as rich_progress

from nova_livemig_ext.osc import executor


def _label(move):
    return move.name or move.server_id


class LogProgress(executor.Progress):
    """Events to a logger, nothing on the output."""

    def __init__(self, log):
        self._log = log

    def event(self, move, text):
        if move is None:
            self._log.warning('%s', text)
        else:
            self._log.info('%s (%s) from %s: %s', _label(move),
                           move.server_id, move.source, text)


class BarProgress(executor.Progress):
    """A rich progress bar on a terminal, the events printed above it.

    :param stream: the terminal (the command's stdout).
    :param title: what the bar is doing, e.g. ``Draining compute1``.
    """

    def __init__(self, stream, title):
        self._console = rich_console.Console(file=stream,
                                             highlight=False)
        self._title = title
        self._bar = rich_progress.Progress(
            rich_progress.SpinnerColumn(),
            rich_progress.TextColumn('{task.description}'),
            rich_progress.BarColumn(),
            rich_progress.MofNCompleteColumn(),
            rich_progress.TextColumn('{task.fields[in_flight]} in flight'),
            rich_progress.TimeElapsedColumn(),
            console=self._console)
        self._task = None

    def start(self, total):
        self._task = self._bar.add_task(self._title, total=total,
                                        in_flight=0)
        self._bar.start()

    def event(self, move, text):
        if move is None:
            self._bar.console.print(text, markup=False)
        else:
            self._bar.console.print('%s: %s' % (_label(move), text),
                                    markup=False)

    def update(self, done, in_flight):
        self._bar.update(self._task, completed=done, in_flight=in_flight)

    def stop(self):
        self._bar.stop()


def for_command(stream, formatter, log, title):
    """The progress a command shows: a bar only on a terminal, as a table.

    :param stream: the command's output.
    :param formatter: the output format asked for (``table``, ``json``..).
    """
    isatty = getattr(stream, 'isatty', None)
    if formatter == 'table' and isatty is not None and isatty():
        return BarProgress(stream, title)
    return LogProgress(log)
