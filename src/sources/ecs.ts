/**
 * A static group member id from the ECS task metadata endpoint (v4): `<family>-<task id>`.
 *
 * What is stable, and what is not: the task id survives restarts of the container inside its task
 * (an ECS container `restartPolicy`), so a container restarted after a crash or an OOM kill takes
 * its partitions back at once. A task ECS replaces (what happens without a restart policy) gets a
 * new id, and its predecessor's partitions wait for the session timeout, as without static
 * membership. An id that survives replacement must be set per service slot
 * (`TRIBUTARY_GROUP_INSTANCE_ID`), e.g. one service per slot with `desiredCount` 1 and a deployment
 * that stops the old task before starting the new one: two running members with one id fence
 * each other.
 */

interface TaskMetadata {
  readonly TaskARN?: unknown;
  readonly Family?: unknown;
}

/** Kafka's rule for `group.instance.id`. */
export const GROUP_INSTANCE_ID = /^[a-zA-Z0-9._-]{1,249}$/;

/** The id for this task, or undefined when the endpoint does not answer in `timeoutMs` or answers oddly. */
export async function ecsGroupInstanceId(metadataUri: string, fetchImpl: typeof fetch = fetch, timeoutMs = 2000): Promise<string | undefined> {
  try {
    const response = await fetchImpl(`${metadataUri}/task`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const { TaskARN, Family } = (await response.json()) as TaskMetadata;
    const taskId = typeof TaskARN === 'string' ? TaskARN.split('/').at(-1) : undefined;
    if (!taskId || typeof Family !== 'string') return undefined;
    const id = `${Family}-${taskId}`.replace(/[^a-zA-Z0-9._-]/g, '_').slice(-249);
    return GROUP_INSTANCE_ID.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
