/**
 * English messages for the request validators (zod/mini). zod/mini ships no locale so that
 * bundles carry only what they use; without this, every issue would read "Invalid input".
 * Imported for its effect by each module that validates with zod/mini.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());
