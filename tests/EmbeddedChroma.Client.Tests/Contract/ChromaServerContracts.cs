using EmbeddedChroma.Tests.Contract;

namespace EmbeddedChroma.Client.Tests.Contract;

// The whole contract suite against Chroma's own server through the remote client.
public sealed class AddContractChromaServer : AddContract<ChromaServerTarget>;
public sealed class CollectionContractChromaServer : CollectionContract<ChromaServerTarget>;
public sealed class CollectionNameContractChromaServer : CollectionNameContract<ChromaServerTarget>;
public sealed class CountPeekContractChromaServer : CountPeekContract<ChromaServerTarget>;
public sealed class DeleteContractChromaServer : DeleteContract<ChromaServerTarget>;
public sealed class EmbeddingGeneratorContractChromaServer : EmbeddingGeneratorContract<ChromaServerTarget>;
public sealed class GetContractChromaServer : GetContract<ChromaServerTarget>;
public sealed class QueryBatchContractChromaServer : QueryBatchContract<ChromaServerTarget>;
public sealed class QueryContractChromaServer : QueryContract<ChromaServerTarget>;
public sealed class TenantDatabaseContractChromaServer : TenantDatabaseContract<ChromaServerTarget>;
public sealed class UpdateContractChromaServer : UpdateContract<ChromaServerTarget>;
public sealed class UpsertContractChromaServer : UpsertContract<ChromaServerTarget>;
public sealed class UrisContractChromaServer : UrisContract<ChromaServerTarget>;
public sealed class WhereFilterContractChromaServer : WhereFilterContract<ChromaServerTarget>;
