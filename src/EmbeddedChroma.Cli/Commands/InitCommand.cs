using System.CommandLine;

namespace EmbeddedChroma.Cli.Commands;

/// <summary><c>embeddedchroma init PATH</c>: creates a store and prints its admin key, once.</summary>
internal static class InitCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("PATH") { Description = "The folder for the new store (created if missing; must not hold a store)." };
        var saveKey = new Option<string?>("--save-key")
        {
            Description = "Also write the admin key into this new file, owner-only (mode 600), for use with --key-file.",
            HelpName = "FILE",
        };
        var command = new Command("init", "Create a store and print its admin key (shown this once; only its hash is stored).") { path, saveKey, Cli.Json };
        Cli.SetAction(command, parse =>
        {
            var folder = Path.GetFullPath(parse.GetRequiredValue(path));
            var keyFile = parse.GetValue(saveKey) is { } file ? Path.GetFullPath(file) : null;
            if (keyFile is not null && File.Exists(keyFile))
            {
                throw new CliException(ExitCodes.Conflict, $"the key file '{keyFile}' exists already; it was left as it was and no store was created.", "name a new file.");
            }

            string adminKey;
            using (ChromaStore.Create(folder, out adminKey))
            {
            }

            if (keyFile is not null)
            {
                // Owner-only from the start: no window in which the file exists with wider permissions.
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using var writer = new StreamWriter(keyFile, options);
                writer.WriteLine(adminKey);
            }

            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("path", folder);
                    w.WriteString("adminKey", adminKey);
                    w.WriteString("keyFile", keyFile);
                    w.WriteEndObject();
                });
            }
            else
            {
                Terminal.Note($"Created the store in '{folder}'.");
                Terminal.Note("Its admin key follows. It is shown only this once (the store keeps only its hash) and it can do");
                Terminal.Note("everything: keep it in a secret store or an environment variable (EMBEDDEDCHROMA_KEY), never in");
                Terminal.Note("source control, and create narrower keys for applications (`embeddedchroma keys create`).");
                if (keyFile is not null)
                {
                    Terminal.Note($"It was also written to '{keyFile}' (mode 600).");
                }

                Terminal.Line(adminKey);
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
