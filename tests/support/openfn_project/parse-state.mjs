// Reads a project served by /api/provision (the `data` of its answer) on stdin and
// parses it with @openfn/project's Project.from('state', ...), as OpenFn's tools do;
// prints what it understood as JSON.
import Project from '@openfn/project';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const project = await Project.from('state', data);
const summary = {
  name: project.name,
  uuid: project.openfn?.uuid,
  credentials: (project.credentials ?? []).map((c) => `${c.owner}|${c.name}`),
  collections: (project.collections ?? []).map((c) => c.name),
  workflows: project.workflows.map((wf) => ({
    name: wf.name,
    uuid: wf.openfn?.uuid,
    steps: wf.steps.map((step) => ({
      id: step.id,
      name: step.name ?? null,
      uuid: step.openfn?.uuid,
      adaptor: step.adaptor,
      type: step.type ?? null,
      next: Object.keys(step.next ?? {}).sort(),
    })),
  })),
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
