import { describe, expect, it } from 'vitest';
import { isTrainable } from '../../scripts/injection-training';

describe('licence rule of the shipped classifier (only MIT, Apache-2.0, CC0 rows are trained on)', () => {
  it.each<[string, string | undefined, boolean]>([
    ['JailbreakBench/artifacts:x.json', 'MIT', true],
    ['NVIDIA/garak:probes/x.py', 'Apache-2.0', true],
    ['f/awesome-chatgpt-prompts:prompts.csv', 'CC0-1.0', true],
    [
      'yizhongw/self-instruct:data/seed_tasks.jsonl',
      "Apache-2.0 (T0 prompts keep their source datasets' terms)",
      true,
    ],
    [
      'yizhongw/self-instruct:data/finetuning/t0_train_50k/x.jsonl',
      "Apache-2.0 (T0 prompts keep their source datasets' terms)",
      false,
    ],
    [
      'microsoft/BIPIA:benchmark/email/train.jsonl',
      'MIT code; contexts CC BY-SA 4.0 (tables, code) / OpenAI evals (emails)',
      false,
    ],
    ['jkkummerfeld/text2sql-data:data/advising.json', 'CC BY 4.0', false],
    [
      'kaif0102/Sentinel-AI-Defense-System-:x.csv',
      'MIT (upstream verazuo/jailbreak_llms; mirror states none)',
      false,
    ],
    // dev.jsonl rows carry no licence: mapped by source as the data README states.
    ['NVIDIA/garak:dan', undefined, true],
    ['SaFoLab-WISC/InjecGuard:NotInject', undefined, true],
    ['wagner-group/PromptShield:dolly', undefined, false],
    ['someone/unknown:x', undefined, false],
  ])('%s (%s) -> %s', (source, license, expected) => {
    expect(isTrainable(source, license)).toBe(expected);
  });
});
