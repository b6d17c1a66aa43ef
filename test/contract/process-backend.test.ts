import { describeLambdaContract } from "./lambda-contract.ts";

describeLambdaContract("process");
