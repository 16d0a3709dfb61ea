/**
 * Configuration of the request and settings validators (zod/mini), imported for its effect
 * by each module that validates, before it builds its schemas:
 * - English messages: zod/mini ships no locale so that bundles carry only what they use;
 *   without this, every issue would read "Invalid input".
 * - No JIT: zod would otherwise compile a specialised parser with `new Function` on each
 *   object schema's first parse. That pays off over many parses; here schemas parse a few
 *   times per container (the default settings at cold start, rare admin writes, a body per
 *   key request), so compiling is pure cold-start cost.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config({ ...en(), jitless: true });
