#!/usr/bin/env node
import '../dist/bundle/modelyard.js';
