/**
 * `node --import ./bench/_without-validation.ts cli/main.ts server ...`: the same server with its
 * object validation taken out, for the api bench's same-run comparison (what validation costs a
 * write). Only the bench loads this; the product has no way to turn validation off.
 */
import { register } from 'node:module';

register(new URL('./_without-validation-hooks.ts', import.meta.url));
