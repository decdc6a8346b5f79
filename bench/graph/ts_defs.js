#!/usr/bin/env node
// Go-to-definition with TypeScript's LanguageService, for bench/graph/precision.py.
//
// stdin:  {"root": "/abs/tree", "queries": [{"file": "rel/path.ts", "line": 1, "column": 0}, ...]}
//         (line 1-based, column 0-based, in UTF-16 code units as TypeScript counts them)
// stdout: [{"definitions": [{"file": "rel/or/abs", "line": 1, "inside": true, "kind": "function"}], "error": ""}, ...]
//         one entry per query, in order.
//
// The program is the root's tsconfig.json (when there is one) plus every queried file, with
// allowJs so that plain JavaScript trees (express) are understood through their JSDoc and
// require() calls.
"use strict";

const fs = require("fs");
const path = require("path");
const ts = require("typescript");

function readStdin() {
  return fs.readFileSync(0, "utf8");
}

function parseConfig(configPath) {
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config.config || {}, ts.sys, path.dirname(configPath));
}

// The root's tsconfig.json, and for a solution-style one (files: [], references: [...]) the
// referenced configs too: their options merged in order over JS-friendly defaults, their
// files united.
function compilerSetup(root) {
  let options = {
    allowJs: true, checkJs: false, noEmit: true, jsx: ts.JsxEmit.ReactJSX,
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler, skipLibCheck: true,
  };
  const configPath = path.join(root, "tsconfig.json");
  if (!fs.existsSync(configPath)) {
    return { options, fileNames: [] };
  }
  const rootConfig = parseConfig(configPath);
  const configs = [rootConfig];
  for (const ref of rootConfig.projectReferences || []) {
    const refPath = ref.path.endsWith(".json") ? ref.path : path.join(ref.path, "tsconfig.json");
    if (path.dirname(path.resolve(refPath)) === root && fs.existsSync(refPath)) {
      configs.push(parseConfig(refPath));
    }
  }
  const fileNames = new Set();
  for (const config of configs) {
    options = { ...options, ...config.options };
    config.fileNames.forEach((f) => fileNames.add(f));
  }
  delete options.types; // type packages (vitest/globals, node) are not installed beside the tree
  return { options: { ...options, allowJs: true, noEmit: true }, fileNames: Array.from(fileNames) };
}

function languageService(root, extraFiles) {
  const { options, fileNames } = compilerSetup(root);
  const files = Array.from(new Set([...fileNames, ...extraFiles]));
  const host = {
    getScriptFileNames: () => files,
    getScriptVersion: () => "1",
    getScriptSnapshot: (name) => (fs.existsSync(name) ? ts.ScriptSnapshot.fromString(fs.readFileSync(name, "utf8")) : undefined),
    getCurrentDirectory: () => root,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (opts) => ts.getDefaultLibFilePath(opts),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

function place(root, service, info) {
  const program = service.getProgram();
  const source = program.getSourceFile(info.fileName);
  const line = source ? source.getLineAndCharacterOfPosition(info.textSpan.start).line + 1 : 0;
  const rel = path.relative(root, info.fileName);
  const inside = !rel.startsWith("..") && !path.isAbsolute(rel) && !rel.split(path.sep).includes("node_modules");
  return { file: inside ? rel.split(path.sep).join("/") : info.fileName, line, inside, kind: info.kind };
}

function main() {
  const request = JSON.parse(readStdin());
  const root = path.resolve(request.root);
  const absolute = request.queries.map((q) => path.join(root, q.file));
  const service = languageService(root, absolute);
  const program = service.getProgram();
  const out = request.queries.map((q, i) => {
    try {
      const source = program.getSourceFile(absolute[i]);
      if (!source) return { definitions: [], error: "not in program" };
      const pos = source.getPositionOfLineAndCharacter(q.line - 1, q.column);
      const defs = service.getDefinitionAtPosition(absolute[i], pos) || [];
      return { definitions: defs.map((d) => place(root, service, d)), error: "" };
    } catch (err) {
      return { definitions: [], error: String(err && err.message ? err.message : err) };
    }
  });
  process.stdout.write(JSON.stringify(out));
}

main();
