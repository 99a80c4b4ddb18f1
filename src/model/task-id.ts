/**
 * Marathon task ids → instance ids (CONTRACT §1.4, Marathon `Task.Id.parse`). Pure string work, no regex
 * (this runs for every task of every resync).
 *
 * Forms, newest first:
 * - `<safePath>.instance-<uuid>.<container>.<incarnation>` (1.8+, container `_app` for apps) → `<safePath>.instance-<uuid>`
 * - `<safePath>.instance-<uuid>.<container>` (and the `marathon-` prefix of older instances) → `<safePath>.instance-<uuid>`
 * - a bare instance id (`failed_health_check_event.taskId` carries one) → itself
 * - legacy `<safePath>.<uuid>`, `<safePath>_<uuid>`, resident `<safePath>.<uuid>.<attempt>`
 *   → `<safePath>.marathon-<uuid>`: the instance id Marathon derives for pre-instance-era tasks
 *   (`Instance.Id(runSpecId, PrefixMarathon, uuid)`), which is what its events report.
 * Anything else is returned unchanged, so a strange id still maps to a stable key.
 */

const INSTANCE_MARKER = '.instance-';
const MARATHON_MARKER = '.marathon-';
// Both markers are 10 characters long.
const MARKER_LENGTH = 10;

/** `<prefix>[._]<uuid>` → `<prefix>.marathon-<uuid>`, or undefined when there is no such split. */
function legacyInstanceId(s: string): string | undefined {
  const sep = Math.max(s.lastIndexOf('.'), s.lastIndexOf('_'));
  if (sep <= 0 || sep === s.length - 1) return undefined;
  return `${s.slice(0, sep)}${MARATHON_MARKER}${s.slice(sep + 1)}`;
}

function isDigits(s: string, from: number): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Instance id of a Marathon task id (see the module comment for every form). Never throws. */
export function instanceIdOf(taskId: string): string {
  const marker = Math.max(taskId.lastIndexOf(INSTANCE_MARKER), taskId.lastIndexOf(MARATHON_MARKER));
  if (marker > 0) {
    const uuidStart = marker + MARKER_LENGTH;
    let end = uuidStart;
    while (end < taskId.length) {
      const c = taskId.charCodeAt(end);
      if (c === 46 /* . */ || c === 95 /* _ */) break;
      end++;
    }
    if (end > uuidStart) return end === taskId.length ? taskId : taskId.slice(0, end);
  }
  // Pre-instance-era resident task `<safePath>[._]<uuid>.<attempt>` (checked first, as Marathon does).
  const dot = taskId.lastIndexOf('.');
  if (dot > 0 && isDigits(taskId, dot + 1)) {
    const resident = legacyInstanceId(taskId.slice(0, dot));
    if (resident !== undefined) return resident;
  }
  return legacyInstanceId(taskId) ?? taskId;
}
