#!/usr/bin/env node
import { buildApp } from '../lib/app';

// The CLI passes `-c env=NAME` through the app's context; buildApp reads it there.
const { app } = buildApp();
app.synth();
