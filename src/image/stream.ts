import { type Conf } from '../conf/conf.js';
import { openOutput } from '../output.js';
import { type Progress, silent } from '../progress.js';
import { DockerArchiveSink } from './docker-archive.js';
import { type ConfImageOptions, imageFromConf } from './from-conf.js';

/** Write the docker-archive a conf describes to `target` ("-" for stdout). */
export async function streamConf(conf: Conf, target: string, options: ConfImageOptions & { progress?: Progress } = {}): Promise<void> {
  const image = await imageFromConf(conf, options);
  const output = openOutput(target);
  try {
    await new DockerArchiveSink(output.sink, options.progress ?? silent).write(image);
    await output.commit();
  } catch (e) {
    await output.abort();
    throw e;
  }
}
