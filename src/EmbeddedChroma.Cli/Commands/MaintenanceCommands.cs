using System.CommandLine;
using System.Globalization;

namespace EmbeddedChroma.Cli.Commands;

/// <summary><c>embeddedchroma stats | verify | compact | backup</c>.</summary>
internal static class MaintenanceCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return Stats();
        yield return Verify();
        yield return Compact();
        yield return Backup();
    }

    /// <summary>Every collection the key may see, over all tenants and databases.</summary>
    private static List<Collection> AllCollections(Session session)
    {
        var root = session.Client();
        var result = new List<Collection>();
        foreach (var tenant in root.ListTenants())
        {
            foreach (var database in root.ListDatabases(tenant))
            {
                var client = session.Store.GetClient(session.Key, database.Tenant, database.Name);
                result.AddRange(client.ListCollections().Select(c => client.GetCollection(c.Id)));
            }
        }

        return result;
    }

    private static Command Stats()
    {
        var command = new Command("stats", "Records, bytes on disk per file kind, index state and dead slots per collection.") { Cli.Store, Cli.Json };
        Cli.SetAction(command, parse =>
        {
            using var session = Session.Open(parse);
            var status = session.Store.GetStatus();
            var files = FileKinds(session.Store.Path);
            var vectors = Path.Combine(session.Store.Path, "vectors");
            var rows = AllCollections(session).Select(c =>
            {
                var index = c.GetIndexingStatus();
                var slots = c.GetSlots();
                return new
                {
                    c.Tenant,
                    c.Database,
                    c.Name,
                    Records = c.Count(),
                    c.Dimension,
                    index.IndexedRecords,
                    index.UnindexedRecords,
                    DeadSlots = slots.Dead,
                    VectorBytes = Size(Path.Combine(vectors, c.Id.ToString("N") + ".vec")),
                    GraphBytes = Size(Path.Combine(vectors, c.Id.ToString("N") + ".hnsw")),
                };
            }).ToList();
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("path", session.Store.Path);
                    w.WriteNumber("collections", status.LoadedCollections);
                    w.WriteNumber("records", rows.Sum(r => (long)r.Records));
                    w.WriteNumber("pendingIndexRows", status.PendingIndexRows);
                    w.WriteNumber("indexFailures", status.IndexFailures);
                    w.WriteStartObject("bytes");
                    foreach (var (kind, bytes) in files)
                    {
                        w.WriteNumber(kind, bytes);
                    }

                    w.WriteEndObject();
                    w.WriteStartArray("collectionStats");
                    foreach (var r in rows)
                    {
                        w.WriteStartObject();
                        w.WriteString("tenant", r.Tenant);
                        w.WriteString("database", r.Database);
                        w.WriteString("name", r.Name);
                        w.WriteNumber("records", r.Records);
                        if (r.Dimension is { } dimension)
                        {
                            w.WriteNumber("dimension", dimension);
                        }
                        else
                        {
                            w.WriteNull("dimension");
                        }

                        w.WriteNumber("indexed", r.IndexedRecords);
                        w.WriteNumber("unindexed", r.UnindexedRecords);
                        w.WriteNumber("deadSlots", r.DeadSlots);
                        w.WriteNumber("vectorBytes", r.VectorBytes);
                        w.WriteNumber("graphBytes", r.GraphBytes);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                });
                return ExitCodes.Ok;
            }

            Terminal.Note($"Store '{session.Store.Path}': {status.LoadedCollections} collections, {rows.Sum(r => (long)r.Records)} records, {status.PendingIndexRows} rows waiting for the index, {status.IndexFailures} index failures.");
            Terminal.Table(["file kind", "bytes", "size"], files.Select(f => (IReadOnlyList<string?>)[f.Kind, f.Bytes.ToString(CultureInfo.InvariantCulture), Terminal.Bytes(f.Bytes)]));
            Terminal.Table(
                ["collection", "records", "dimension", "indexed", "unindexed", "dead slots", "vectors", "graph"],
                rows.Select(r => (IReadOnlyList<string?>)[$"{r.Tenant}/{r.Database}/{r.Name}", r.Records.ToString(CultureInfo.InvariantCulture), r.Dimension?.ToString(CultureInfo.InvariantCulture) ?? "-", r.IndexedRecords.ToString(CultureInfo.InvariantCulture), r.UnindexedRecords.ToString(CultureInfo.InvariantCulture), r.DeadSlots.ToString(CultureInfo.InvariantCulture), Terminal.Bytes(r.VectorBytes), Terminal.Bytes(r.GraphBytes)]));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static long Size(string file) => File.Exists(file) ? new FileInfo(file).Length : 0;

    /// <summary>Bytes on disk per kind of file in the store folder.</summary>
    private static List<(string Kind, long Bytes)> FileKinds(string folder)
    {
        var sums = new Dictionary<string, long>(StringComparer.Ordinal) { ["database"] = 0, ["keyring"] = 0, ["vectors"] = 0, ["graphs"] = 0, ["filterIndex"] = 0, ["other"] = 0 };
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            var kind = file.Name switch
            {
                _ when file.Name.StartsWith("chroma.sqlite3", StringComparison.Ordinal) => "database",
                _ when file.Name.StartsWith("keyring.", StringComparison.Ordinal) => "keyring",
                _ when file.Extension == ".vec" => "vectors",
                _ when file.Extension == ".hnsw" => "graphs",
                _ when file.Extension == ".flt" => "filterIndex",
                _ => "other",
            };
            sums[kind] += file.Length;
        }

        return sums.Select(s => (s.Key, s.Value)).ToList();
    }

    private static Command Verify()
    {
        var command = new Command(
            "verify",
            "Check the whole store (admin key): every SQLite page, every record's checksums, the key ring's audit chain, and everything derived from the records " +
            "(filter rows, document index, and per collection the vector arena, the HNSW graph and the filter index, in memory and in their files). " +
            "Derived data that differs from the records is rebuilt from them and reported (exit 0: the store is sound now). " +
            "Exit code 5 when the records or the key ring are damaged.")
        {
            Cli.Store, Cli.Json,
        };
        Cli.SetAction(command, async (parse, cancellationToken) =>
        {
            using var session = Session.Open(parse);
            var report = await Terminal.WithProgress("Checking the database, every record and the derived files", null, progress => Task.Run(() =>
                session.Client().VerifyIntegrity(Terminal.Reporter(progress), cancellationToken))).ConfigureAwait(false);
            var audit = session.Ring().VerifyAudit();
            var repairs = report.Checks.Count(c => c.State == ChromaDerivedState.Repaired);
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartObject();
                    w.WriteBoolean("database", true);
                    w.WriteNumber("recordsChecked", report.RecordsChecked);
                    w.WriteBoolean("repaired", report.Repaired);
                    w.WriteBoolean("damaged", report.Damaged);
                    w.WriteBoolean("auditChain", audit.IsValid);
                    w.WriteNumber("auditEntries", audit.Entries);
                    w.WriteString("ringProblem", audit.RingProblem);
                    w.WritePropertyName("documentIndex");
                    WriteCheck(w, report.DocumentIndex);
                    w.WriteStartArray("collections");
                    foreach (var c in report.Collections)
                    {
                        w.WriteStartObject();
                        w.WriteString("tenant", c.Tenant);
                        w.WriteString("database", c.Database);
                        w.WriteString("name", c.Name);
                        w.WriteString("id", c.Id);
                        w.WriteNumber("records", c.Records);
                        w.WriteStartArray("checks");
                        foreach (var check in c.Checks)
                        {
                            WriteCheck(w, check);
                        }

                        w.WriteEndArray();
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                });
            }
            else
            {
                Terminal.Line($"database: ok (every page; {report.RecordsChecked} records' checksums)");
                Terminal.Line(audit.IsValid ? $"key ring: ok (audit chain of {audit.Entries} entries, key rows)" : $"key ring: DAMAGED ({audit.RingProblem ?? $"audit entry {audit.FirstInvalidSequence} fails its MAC"})");
                Terminal.Line(
                    report.Damaged ? "derived data: DAMAGED and not repaired (the store is open read-only): open it writable and verify again"
                    : report.Repaired ? $"derived data: REPAIRED ({repairs} rebuilt from the records; the store is sound now)"
                    : $"derived data: ok ({report.Collections.Count} collections agree with their records)");
                var rows = new List<IReadOnlyList<string?>>
                {
                    new[] { "(store)", Kind(report.DocumentIndex.Kind), State(report.DocumentIndex.State), report.DocumentIndex.Detail },
                };
                foreach (var c in report.Collections)
                {
                    rows.AddRange(c.Checks.Select(check => (IReadOnlyList<string?>)[$"{c.Tenant}/{c.Database}/{c.Name}", Kind(check.Kind), State(check.State), check.Detail]));
                }

                Terminal.Table(["collection", "data", "state", "detail"], rows);
            }

            if (!audit.IsValid || report.Damaged)
            {
                throw new CliException(ExitCodes.Corrupt, "the store failed verification.", report.Damaged ? "open the store writable and run verify again." : "restore the store folder from a backup.");
            }

            if (report.Repaired)
            {
                Terminal.Note($"note: {repairs} kind(s) of derived data differed from the records and were rebuilt from them; the store is sound now. Their cause (a disk error, a copied or edited file) is worth a look.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteCheck(System.Text.Json.Utf8JsonWriter w, ChromaDerivedCheck check)
    {
        w.WriteStartObject();
        w.WriteString("kind", Kind(check.Kind));
        w.WriteString("state", State(check.State));
        w.WriteString("detail", check.Detail);
        w.WriteEndObject();
    }

    private static string Kind(ChromaDerivedKind kind) => kind switch
    {
        ChromaDerivedKind.VectorArena => "vectors",
        ChromaDerivedKind.HnswGraph => "graph",
        ChromaDerivedKind.FilterIndex => "filterIndex",
        ChromaDerivedKind.FilterRows => "filterRows",
        _ => "documentIndex",
    };

    private static string State(ChromaDerivedState state) => state switch
    {
        ChromaDerivedState.Checked => "ok",
        ChromaDerivedState.Repaired => "repaired",
        ChromaDerivedState.Absent => "absent",
        _ => "damaged",
    };

    private static Command Compact()
    {
        var only = new Option<string?>("--collection", "-c") { Description = "Compact only this collection (of --tenant/--database); default: every collection.", HelpName = "NAME" };
        var command = new Command("compact", "Rewrite collections' vector files without the slots of deleted records.") { Cli.Store, only, Cli.Tenant, Cli.Database, Cli.Json };
        Cli.SetAction(command, async (parse, cancellationToken) =>
        {
            using var session = Session.Open(parse);
            var collections = parse.GetValue(only) is { } name ? [session.Client().GetCollection(name)] : AllCollections(session);
            var results = await Terminal.WithProgress("Compacting", collections.Count, report =>
            {
                var done = new List<(Collection Collection, CompactionResult Result)>();
                foreach (var collection in collections)
                {
                    cancellationToken.ThrowIfCancellationRequested();

                    // Within a collection the bar follows its slots; between collections it counts them.
                    var before = done.Count;
                    var slots = Terminal.Reporter((completed, total) => report(before + (total is > 0 ? completed / total.Value : 0), collections.Count));
                    done.Add((collection, collection.Compact(slots, cancellationToken)));
                    report(done.Count, collections.Count);
                }

                return Task.FromResult(done);
            }).ConfigureAwait(false);
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartArray();
                    foreach (var (c, r) in results)
                    {
                        w.WriteStartObject();
                        w.WriteString("collection", $"{c.Tenant}/{c.Database}/{c.Name}");
                        w.WriteNumber("records", r.Records);
                        w.WriteNumber("deadSlots", r.SlotsBefore - r.Records);
                        w.WriteNumber("slotsBefore", r.SlotsBefore);
                        w.WriteNumber("slotsAfter", r.SlotsAfter);
                        w.WriteNumber("bytesBefore", r.BytesBefore);
                        w.WriteNumber("bytesAfter", r.BytesAfter);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                });
            }
            else
            {
                Terminal.Table(
                    ["collection", "records", "dead slots removed", "bytes before", "bytes after"],
                    results.Select(x => (IReadOnlyList<string?>)[$"{x.Collection.Tenant}/{x.Collection.Database}/{x.Collection.Name}", x.Result.Records.ToString(CultureInfo.InvariantCulture), (x.Result.SlotsBefore - x.Result.Records).ToString(CultureInfo.InvariantCulture), Terminal.Bytes(x.Result.BytesBefore), Terminal.Bytes(x.Result.BytesAfter)]));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Backup()
    {
        var destination = new Argument<string>("DEST") { Description = "A new or empty folder outside the store." };
        var command = new Command("backup", "Write a consistent copy of the whole store, keys included, while it stays usable (admin key).") { destination, Cli.Store, Cli.Json };
        Cli.SetAction(command, async (parse, cancellationToken) =>
        {
            using var session = Session.Open(parse);
            var target = Path.GetFullPath(parse.GetRequiredValue(destination));
            var result = await Terminal.WithProgress("Backing up", null, report => Task.Run(() => session.Client().Backup(target, Terminal.Reporter(report), cancellationToken))).ConfigureAwait(false);
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("path", result.Path);
                    w.WriteNumber("bytes", result.Bytes);
                    w.WriteNumber("seconds", Math.Round(result.Elapsed.TotalSeconds, 3));
                    w.WriteEndObject();
                });
            }
            else
            {
                Terminal.Line(string.Create(CultureInfo.InvariantCulture, $"Backed up to '{result.Path}': {Terminal.Bytes(result.Bytes)} in {result.Elapsed.TotalSeconds:0.0} s. The copy holds the key ring: keep it as safe as the store."));
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
