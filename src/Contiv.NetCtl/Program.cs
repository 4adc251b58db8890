using Contiv.NetCtl;

var commands = new NetCtlCommands(Console.Out, Console.Error, connection => NetmasterClient.Create(connection, TimeSpan.FromSeconds(30)));
return await commands.RunAsync(args);
